/* Status codes, their names, and the per-thread last-error message. */
#include <stdio.h>
#include <string.h>

#include "recur/recur.h"

static _Thread_local char last_error[1024];

const char *recur_strerror(int status) {
    switch (status) {
    case RECUR_OK: return "RECUR_OK: success";
    case RECUR_E_INVALID: return "RECUR_E_INVALID: invalid argument";
    case RECUR_E_NOMEM: return "RECUR_E_NOMEM: out of memory";
    case RECUR_E_IO: return "RECUR_E_IO: input/output error";
    case RECUR_E_FORMAT: return "RECUR_E_FORMAT: malformed or inconsistent file";
    case RECUR_E_NOTFOUND: return "RECUR_E_NOTFOUND: not found";
    case RECUR_E_ABI: return "RECUR_E_ABI: plugin ABI mismatch";
    case RECUR_E_NODEVICE: return "RECUR_E_NODEVICE: no device";
    case RECUR_E_UNSUPPORTED: return "RECUR_E_UNSUPPORTED: not supported";
    case RECUR_E_NUMERIC: return "RECUR_E_NUMERIC: non-finite value";
    case RECUR_E_BACKEND: return "RECUR_E_BACKEND: backend failure";
    case RECUR_E_THREAD: return "RECUR_E_THREAD: thread error";
    case RECUR_E_OPENCL: return "RECUR_E_OPENCL: OpenCL error";
    case RECUR_E_OPENCL_BUILD: return "RECUR_E_OPENCL_BUILD: OpenCL program build failed";
    case RECUR_E_CLBLAST: return "RECUR_E_CLBLAST: CLBlast error";
    default: return "unknown recur status";
    }
}

const char *recur_last_error(void) { return last_error; }

void recur_clear_error(void) { last_error[0] = '\0'; }

int recur_set_errorv(int status, const char *fmt, va_list ap) {
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    return status;
}

int recur_set_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    recur_set_errorv(status, fmt, ap);
    va_end(ap);
    return status;
}
