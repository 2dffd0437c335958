/* Error names, kernel argument helpers, launches and the scratch buffer of the opencl backend. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ocl_internal.h" /* first: it fixes CL_TARGET_OPENCL_VERSION before any OpenCL header */

#include <clblast_c.h>

const recur_services *ocl_svc;

int ocl_error(int status, const char *fmt, ...) {
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ocl_svc && ocl_svc->set_error) ocl_svc->set_error(status, "%s", msg);
    return status;
}

const char *ocl_cl_name(cl_int err) {
#define N(x) case x: return #x;
    switch (err) {
    N(CL_SUCCESS) N(CL_DEVICE_NOT_FOUND) N(CL_DEVICE_NOT_AVAILABLE) N(CL_COMPILER_NOT_AVAILABLE)
    N(CL_MEM_OBJECT_ALLOCATION_FAILURE) N(CL_OUT_OF_RESOURCES) N(CL_OUT_OF_HOST_MEMORY)
    N(CL_PROFILING_INFO_NOT_AVAILABLE) N(CL_MEM_COPY_OVERLAP) N(CL_IMAGE_FORMAT_MISMATCH)
    N(CL_IMAGE_FORMAT_NOT_SUPPORTED) N(CL_BUILD_PROGRAM_FAILURE) N(CL_MAP_FAILURE)
    N(CL_MISALIGNED_SUB_BUFFER_OFFSET) N(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    N(CL_COMPILE_PROGRAM_FAILURE) N(CL_LINKER_NOT_AVAILABLE) N(CL_LINK_PROGRAM_FAILURE)
    N(CL_DEVICE_PARTITION_FAILED) N(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) N(CL_INVALID_VALUE)
    N(CL_INVALID_DEVICE_TYPE) N(CL_INVALID_PLATFORM) N(CL_INVALID_DEVICE) N(CL_INVALID_CONTEXT)
    N(CL_INVALID_QUEUE_PROPERTIES) N(CL_INVALID_COMMAND_QUEUE) N(CL_INVALID_HOST_PTR) N(CL_INVALID_MEM_OBJECT)
    N(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) N(CL_INVALID_IMAGE_SIZE) N(CL_INVALID_SAMPLER) N(CL_INVALID_BINARY)
    N(CL_INVALID_BUILD_OPTIONS) N(CL_INVALID_PROGRAM) N(CL_INVALID_PROGRAM_EXECUTABLE) N(CL_INVALID_KERNEL_NAME)
    N(CL_INVALID_KERNEL_DEFINITION) N(CL_INVALID_KERNEL) N(CL_INVALID_ARG_INDEX) N(CL_INVALID_ARG_VALUE)
    N(CL_INVALID_ARG_SIZE) N(CL_INVALID_KERNEL_ARGS) N(CL_INVALID_WORK_DIMENSION) N(CL_INVALID_WORK_GROUP_SIZE)
    N(CL_INVALID_WORK_ITEM_SIZE) N(CL_INVALID_GLOBAL_OFFSET) N(CL_INVALID_EVENT_WAIT_LIST) N(CL_INVALID_EVENT)
    N(CL_INVALID_OPERATION) N(CL_INVALID_GL_OBJECT) N(CL_INVALID_BUFFER_SIZE) N(CL_INVALID_MIP_LEVEL)
    N(CL_INVALID_GLOBAL_WORK_SIZE) N(CL_INVALID_PROPERTY) N(CL_INVALID_IMAGE_DESCRIPTOR)
    N(CL_INVALID_COMPILER_OPTIONS) N(CL_INVALID_LINKER_OPTIONS) N(CL_INVALID_DEVICE_PARTITION_COUNT)
    case -69: return "CL_INVALID_PIPE_SIZE";
    case -70: return "CL_INVALID_DEVICE_QUEUE";
    case -71: return "CL_INVALID_SPEC_ID";
    case -72: return "CL_MAX_SIZE_RESTRICTION_EXCEEDED";
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    case -1000: return "CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR";
    case -9999: return "NVIDIA_ILLEGAL_READ_OR_WRITE (-9999)";
    default: return "unknown OpenCL error";
    }
#undef N
}

const char *ocl_clblast_name(int status) {
#define N(x) case x: return #x;
    switch ((CLBlastStatusCode)status) {
    N(CLBlastSuccess) N(CLBlastOpenCLCompilerNotAvailable) N(CLBlastTempBufferAllocFailure)
    N(CLBlastOpenCLOutOfResources) N(CLBlastOpenCLOutOfHostMemory) N(CLBlastOpenCLBuildProgramFailure)
    N(CLBlastInvalidValue) N(CLBlastInvalidCommandQueue) N(CLBlastInvalidMemObject) N(CLBlastInvalidBinary)
    N(CLBlastInvalidBuildOptions) N(CLBlastInvalidProgram) N(CLBlastInvalidProgramExecutable)
    N(CLBlastInvalidKernelName) N(CLBlastInvalidKernelDefinition) N(CLBlastInvalidKernel)
    N(CLBlastInvalidArgIndex) N(CLBlastInvalidArgValue) N(CLBlastInvalidArgSize) N(CLBlastInvalidKernelArgs)
    N(CLBlastInvalidLocalNumDimensions) N(CLBlastInvalidLocalThreadsTotal) N(CLBlastInvalidLocalThreadsDim)
    N(CLBlastInvalidGlobalOffset) N(CLBlastInvalidEventWaitList) N(CLBlastInvalidEvent)
    N(CLBlastInvalidOperation) N(CLBlastInvalidBufferSize) N(CLBlastInvalidGlobalWorkSize)
    N(CLBlastNotImplemented) N(CLBlastInvalidMatrixA) N(CLBlastInvalidMatrixB) N(CLBlastInvalidMatrixC)
    N(CLBlastInvalidVectorX) N(CLBlastInvalidVectorY) N(CLBlastInvalidDimension) N(CLBlastInvalidLeadDimA)
    N(CLBlastInvalidLeadDimB) N(CLBlastInvalidLeadDimC) N(CLBlastInvalidIncrementX) N(CLBlastInvalidIncrementY)
    N(CLBlastInsufficientMemoryA) N(CLBlastInsufficientMemoryB) N(CLBlastInsufficientMemoryC)
    N(CLBlastInsufficientMemoryX) N(CLBlastInsufficientMemoryY) N(CLBlastInsufficientMemoryTemp)
    N(CLBlastInvalidBatchCount) N(CLBlastInvalidOverrideKernel) N(CLBlastMissingOverrideParameter)
    N(CLBlastInvalidLocalMemUsage) N(CLBlastNoHalfPrecision) N(CLBlastNoDoublePrecision)
    N(CLBlastInvalidVectorScalar) N(CLBlastInsufficientMemoryScalar) N(CLBlastDatabaseError)
    N(CLBlastUnknownError) N(CLBlastUnexpectedError)
    default: return "unknown CLBlast status";
    }
#undef N
}

int ocl_cl_fail(const char *what, const char *call, cl_int err) {
    return ocl_error(RECUR_E_OPENCL, "opencl: %s: %s failed: %s (%d)", what, call, ocl_cl_name(err), (int)err);
}

double ocl_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ---- kernel arguments ---- */

static const char *const kernel_names[K_COUNT] = {
#define OCL_KERNEL_NAME(id, name, prog) name,
    OCL_KERNELS(OCL_KERNEL_NAME)
#undef OCL_KERNEL_NAME
};

static void set_arg(ocl_args *a, size_t size, const void *value) {
    if (a->err == CL_SUCCESS) {
        cl_int e = clSetKernelArg(a->d->kern[a->kid], a->next, size, value);
        if (e != CL_SUCCESS) {
            a->err = e;
            a->bad = a->next;
        }
    }
    a->next++;
}

/* The union's members have the sizes of the kernels' ulong, uint, int and float. */
_Static_assert(sizeof(uint64_t) == sizeof(cl_ulong) && sizeof(uint32_t) == sizeof(cl_uint) &&
                   sizeof(int32_t) == sizeof(cl_int) && sizeof(float) == sizeof(cl_float),
               "ocl_arg members differ from the OpenCL scalar types");
static void set_one(ocl_args *a, const ocl_arg *v) {
    switch (v->kind) {
    case OCL_ARG_U64: set_arg(a, sizeof v->u64, &v->u64); break;
    case OCL_ARG_U32: set_arg(a, sizeof v->u32, &v->u32); break;
    case OCL_ARG_I32: set_arg(a, sizeof v->i32, &v->i32); break;
    case OCL_ARG_F32: set_arg(a, sizeof v->f32, &v->f32); break;
    case OCL_ARG_MEM: set_arg(a, sizeof v->mem, &v->mem); break;
    case OCL_ARG_PTR: {
        const cl_mem m = ocl_mem(a->d, v->ptr);
        const cl_ulong off = v->ptr.buf ? (cl_ulong)v->ptr.off : OCL_ABSENT;
        set_arg(a, sizeof m, &m);
        set_arg(a, sizeof off, &off);
        break;
    }
    }
}

ocl_args ocl_args_with(ocl_dev *d, int kid, const ocl_arg *args, size_t n) {
    ocl_args a = {d, kid, 0, CL_SUCCESS, 0};
    for (size_t i = 0; i < n; i++) set_one(&a, &args[i]);
    return a;
}

static int check_args(ocl_args *a, const char *op) {
    if (a->err == CL_SUCCESS) return RECUR_OK;
    return ocl_error(RECUR_E_OPENCL, "opencl: %s: clSetKernelArg(%s, arg %u) failed: %s (%d)", op,
                     kernel_names[a->kid], a->bad, ocl_cl_name(a->err), (int)a->err);
}

/* "a x b x c" of up to three sizes. */
static void dims_text(char *out, size_t size, cl_uint dims, const size_t *v) {
    if (!v) {
        snprintf(out, size, "driver's choice");
        return;
    }
    snprintf(out, size, "%zu", v[0]);
    for (cl_uint i = 1; i < dims; i++) {
        const size_t len = strlen(out);
        snprintf(out + len, size - len, " x %zu", v[i]);
    }
}

static int enqueue(ocl_args *a, cl_uint dims, const size_t *global, const size_t *local, const char *op) {
    cl_int e = clEnqueueNDRangeKernel(a->d->queue, a->d->kern[a->kid], dims, NULL, global, local, 0, NULL, NULL);
    if (e == CL_SUCCESS) return RECUR_OK;
    char g[80], l[80];
    dims_text(g, sizeof g, dims, global);
    dims_text(l, sizeof l, dims, local);
    return ocl_error(RECUR_E_OPENCL, "opencl: %s: clEnqueueNDRangeKernel(%s, global %s, local %s) failed: %s (%d)",
                     op, kernel_names[a->kid], g, l, ocl_cl_name(e), (int)e);
}

int ocl_launch_items(ocl_args *a, size_t items, const char *op) {
    int st = check_args(a, op);
    if (st || items == 0) return st;
    const size_t local = a->d->lws[a->kid];
    const size_t global = (items + local - 1) / local * local;
    return enqueue(a, 1, &global, &local, op);
}

int ocl_launch_rows(ocl_args *a, size_t rows, size_t cols, const char *op) {
    int st = check_args(a, op);
    if (st || rows == 0 || cols == 0) return st;
    /* local: the smallest power of two >= cols (up to the kernel's local size) along the columns, the rest
     * of the local size along the rows */
    const size_t lws = a->d->lws[a->kid];
    size_t lx = 1;
    while (lx < cols && lx * 2 <= lws) lx *= 2;
    size_t ly = lws / lx;
    if (ly > a->d->max_item[1]) ly = a->d->max_item[1];
    if (ly > rows) {
        ly = 1;
        while (ly * 2 <= rows) ly *= 2;
    }
    const size_t local[2] = {lx, ly};
    const size_t global[2] = {(cols + lx - 1) / lx * lx, (rows + ly - 1) / ly * ly};
    return enqueue(a, 2, global, local, op);
}

int ocl_launch_groups(ocl_args *a, size_t groups, const char *op) {
    int st = check_args(a, op);
    if (st || groups == 0) return st;
    const size_t local = a->d->lws[a->kid];
    const size_t global = groups * local;
    return enqueue(a, 1, &global, &local, op);
}

int ocl_launch_3d(ocl_args *a, const size_t global[3], const size_t *local, const char *op) {
    int st = check_args(a, op);
    if (st || global[0] == 0 || global[1] == 0 || global[2] == 0) return st;
    return enqueue(a, 3, global, local, op);
}

int ocl_launch_transpose(ocl_args *a, size_t rows, size_t cols, size_t batch, const char *op) {
    const size_t local[3] = {16, 16, 1}, global[3] = {(cols + 15) / 16 * 16, (rows + 15) / 16 * 16, batch};
    const int tiles = a->d->lws[K_TRANSPOSE] >= 256 && a->d->max_item[1] >= 16;
    return ocl_launch_3d(a, global, tiles ? local : NULL, op);
}

int ocl_run_items(ocl_dev *d, int kid, size_t items, const char *op, const ocl_arg *args, size_t n) {
    ocl_args a = ocl_args_with(d, kid, args, n);
    return ocl_launch_items(&a, items, op);
}

int ocl_run_rows(ocl_dev *d, int kid, size_t rows, size_t cols, const char *op, const ocl_arg *args, size_t n) {
    ocl_args a = ocl_args_with(d, kid, args, n);
    return ocl_launch_rows(&a, rows, cols, op);
}

int ocl_run_groups(ocl_dev *d, int kid, size_t groups, const char *op, const ocl_arg *args, size_t n) {
    ocl_args a = ocl_args_with(d, kid, args, n);
    return ocl_launch_groups(&a, groups, op);
}

int ocl_run_per_row(ocl_dev *d, int kid, int kid_cpu, size_t rows, const char *op, const ocl_arg *args, size_t n) {
    ocl_args a = ocl_args_with(d, d->row_per_item ? kid_cpu : kid, args, n);
    if (d->row_per_item) return ocl_launch_items(&a, rows, op);
    return ocl_launch_groups(&a, rows < d->max_groups ? rows : d->max_groups, op);
}

int ocl_scratch(ocl_dev *d, size_t bytes, cl_mem *out) {
    if (bytes < 4096) bytes = 4096;
    if (d->scratch && d->scratch_bytes >= bytes) {
        *out = d->scratch;
        return RECUR_OK;
    }
    size_t grow = d->scratch_bytes * 2 > bytes ? d->scratch_bytes * 2 : bytes;
    cl_int e;
    cl_mem m = clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, grow, NULL, &e);
    if (!m) {
        grow = bytes;
        m = clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, grow, NULL, &e);
    }
    if (!m) return ocl_cl_fail("scratch buffer", "clCreateBuffer", e);
    /* The old buffer may still be used by enqueued kernels; OpenCL frees it once they are done. */
    if (d->scratch) clReleaseMemObject(d->scratch);
    d->scratch = m;
    d->scratch_bytes = grow;
    *out = m;
    return RECUR_OK;
}

void ocl_reduce_plan(size_t n, size_t *groups, size_t *chunk) {
    size_t g = (n + 4095) / 4096;
    if (g > OCL_RLANES) g = OCL_RLANES;
    if (g == 0) g = 1;
    *groups = g;
    *chunk = (n + g - 1) / g;
    if (*chunk == 0) *chunk = 1;
}
