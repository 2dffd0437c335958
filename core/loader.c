/*
 * The backend loader: finds plugin files, dlopens them, checks the entry symbol, the ABI version and the
 * table sizes, and probes for devices. Every failure names the file and the reason.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define PLUGIN_PREFIX "librecur-"
#define PLUGIN_SUFFIX ".so"
#define MAX_DIRS 32

static void services_log(int level, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    recur_log(level, "%s", msg);
}

static int services_set_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    recur_set_errorv(status, fmt, ap);
    va_end(ap);
    return status;
}

const recur_services recur_host_services = {
    .abi_major = RECUR_ABI_MAJOR,
    .struct_size = sizeof(recur_services),
    .abi_minor = RECUR_ABI_MINOR,
    .log = services_log,
    .set_error = services_set_error,
    .getenv = recur_getenv,
};

/* ---- search folders ----------------------------------------------------------------------------- */

static char dir_store[MAX_DIRS][PATH_MAX];
static int dir_count = -1;

static void add_dir(const char *dir, size_t len) {
    if (len == 0 || len >= PATH_MAX || dir_count >= MAX_DIRS) return;
    for (int i = 0; i < dir_count; i++)
        if (strlen(dir_store[i]) == len && !strncmp(dir_store[i], dir, len)) return;
    memcpy(dir_store[dir_count], dir, len);
    dir_store[dir_count][len] = '\0';
    dir_count++;
}

/* RECUR_BACKEND_PATH first, then <folder of librecur>/recur (the build tree or the install prefix,
 * wherever this library was loaded from), then the configured install folder. */
static void init_dirs(void) {
    if (dir_count >= 0) return;
    dir_count = 0;
    const char *env = recur_getenv("RECUR_BACKEND_PATH");
    if (env) {
        const char *p = env;
        while (*p) {
            const char *colon = strchr(p, ':');
            size_t len = colon ? (size_t)(colon - p) : strlen(p);
            add_dir(p, len);
            p += len + (colon ? 1 : 0);
        }
    }
    Dl_info info;
    if (dladdr((void *)&init_dirs, &info) && info.dli_fname) {
        char buf[PATH_MAX];
        snprintf(buf, sizeof buf, "%s", info.dli_fname);
        char *slash = strrchr(buf, '/');
        if (slash) {
            *slash = '\0';
            char dir[PATH_MAX + 8];
            snprintf(dir, sizeof dir, "%s/recur", buf);
            add_dir(dir, strlen(dir));
        }
    }
#ifdef RECUR_INSTALL_BACKEND_DIR
    add_dir(RECUR_INSTALL_BACKEND_DIR, strlen(RECUR_INSTALL_BACKEND_DIR));
#endif
}

int recur_backend_search_dirs(const char **dirs, int max) {
    init_dirs();
    int n = 0;
    for (int i = 0; i < dir_count && n < max; i++) dirs[n++] = dir_store[i];
    return n;
}

static void describe_dirs(char *out, size_t size) {
    init_dirs();
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < dir_count && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", dir_store[i]);
    if (dir_count == 0) snprintf(out, size, "(none)");
}

static int is_regular_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Find librecur-NAME.so in the search folders. */
static int find_by_name(const char *name, char *path, size_t size) {
    init_dirs();
    for (int i = 0; i < dir_count; i++) {
        int len = snprintf(path, size, "%s/" PLUGIN_PREFIX "%s" PLUGIN_SUFFIX, dir_store[i], name);
        if (len > 0 && (size_t)len < size && is_regular_file(path)) return 1;
    }
    return 0;
}

/* Names of every plugin file found, for "unknown backend" messages. */
static void list_names(char *out, size_t size) {
    init_dirs();
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < dir_count; i++) {
        DIR *dir = opendir(dir_store[i]);
        if (!dir) continue;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            size_t pre = strlen(PLUGIN_PREFIX), suf = strlen(PLUGIN_SUFFIX);
            if (len <= pre + suf || strncmp(e->d_name, PLUGIN_PREFIX, pre) ||
                strcmp(e->d_name + len - suf, PLUGIN_SUFFIX))
                continue;
            if (used < size)
                used += (size_t)snprintf(out + used, size - used, "%s%.*s", used ? ", " : "",
                                         (int)(len - pre - suf), e->d_name + pre);
        }
        closedir(dir);
    }
    if (!out[0]) snprintf(out, size, "(none)");
}

/* ---- loading one file ----------------------------------------------------------------------------- */

#define IFACE_V1_0_SIZE (offsetof(recur_backend_iface, shutdown) + sizeof(void (*)(void)))
#define OPS_V1_0_SIZE (offsetof(recur_ops, dropout) + sizeof(void (*)(void)))

static int fail_unload(recur_backend *b, int status) {
    if (b->iface && b->iface->shutdown && b->iface->abi_major == RECUR_ABI_MAJOR) b->iface->shutdown();
    if (b->handle) dlclose(b->handle);
    free(b);
    return status;
}

static int load_file(const char *path, recur_backend **out) {
    *out = NULL;
    if (!is_regular_file(path))
        return recur_set_error(RECUR_E_NOTFOUND, "backend file '%s': not found (%s)", path,
                               errno ? strerror(errno) : "not a regular file");
    recur_backend *b = calloc(1, sizeof *b);
    if (!b) return recur_set_error(RECUR_E_NOMEM, "backend file '%s': out of memory", path);
    snprintf(b->path, sizeof b->path, "%s", path);
    char *resolved = realpath(path, NULL);
    if (resolved) {
        snprintf(b->path, sizeof b->path, "%s", resolved);
        free(resolved);
    }
    dlerror();
    b->handle = dlopen(b->path, RTLD_NOW | RTLD_LOCAL);
    if (!b->handle) {
        const char *why = dlerror();
        recur_set_error(RECUR_E_BACKEND, "backend file '%s': cannot be loaded: %s", b->path,
                        why ? why : "unknown dlopen error");
        return fail_unload(b, RECUR_E_BACKEND);
    }
    recur_backend_entry_fn entry;
    void *sym = dlsym(b->handle, RECUR_BACKEND_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof entry); /* object pointer to function pointer, as POSIX allows */
    if (!sym) {
        recur_set_error(RECUR_E_NOTFOUND,
                        "backend file '%s': not a recur backend (it does not export the symbol '%s')",
                        b->path, RECUR_BACKEND_ENTRY_SYMBOL);
        return fail_unload(b, RECUR_E_NOTFOUND);
    }
    recur_clear_error();
    const recur_backend_iface *iface = NULL;
    int st = entry(RECUR_ABI_MAJOR, RECUR_ABI_MINOR, &recur_host_services, &iface);
    if (st != RECUR_OK) {
        char why[768];
        snprintf(why, sizeof why, "%s", recur_last_error()[0] ? recur_last_error() : recur_strerror(st));
        recur_set_error(st == RECUR_E_ABI ? RECUR_E_ABI : RECUR_E_BACKEND,
                        "backend file '%s': initialisation failed: %s", b->path, why);
        return fail_unload(b, st == RECUR_E_ABI ? RECUR_E_ABI : RECUR_E_BACKEND);
    }
    if (!iface) {
        recur_set_error(RECUR_E_BACKEND, "backend file '%s': entry returned no interface table", b->path);
        return fail_unload(b, RECUR_E_BACKEND);
    }
    if (iface->abi_major != RECUR_ABI_MAJOR) {
        recur_set_error(RECUR_E_ABI, "backend file '%s': ABI mismatch: the plugin was built for ABI %u.%u, "
                        "this librecur speaks ABI %d.%d (rebuild the plugin against this SDK)",
                        b->path, iface->abi_major, iface->abi_minor, RECUR_ABI_MAJOR, RECUR_ABI_MINOR);
        return fail_unload(b, RECUR_E_ABI);
    }
    b->iface = iface;
    if (iface->struct_size < IFACE_V1_0_SIZE || !iface->ops || iface->ops->abi_major != RECUR_ABI_MAJOR ||
        iface->ops->struct_size < OPS_V1_0_SIZE) {
        recur_set_error(RECUR_E_ABI, "backend file '%s': malformed tables: interface size %u (need >= %zu), "
                        "ops table %s (abi %u, size %u, need >= %zu)", b->path, iface->struct_size,
                        (size_t)IFACE_V1_0_SIZE, iface->ops ? "present" : "missing",
                        iface->ops ? iface->ops->abi_major : 0u, iface->ops ? iface->ops->struct_size : 0u,
                        (size_t)OPS_V1_0_SIZE);
        return fail_unload(b, RECUR_E_ABI);
    }
    const recur_ops *o = iface->ops;
    if (!iface->name || !iface->probe || !iface->device_info || !iface->device_open || !iface->device_close ||
        !o->buf_alloc || !o->buf_free || !o->host_ptr || !o->write || !o->read || !o->sync) {
        recur_set_error(RECUR_E_ABI, "backend file '%s': a required method is missing (name, probe, "
                        "device_info, device_open, device_close and the memory/queue ops must all be set)",
                        b->path);
        return fail_unload(b, RECUR_E_ABI);
    }
    char reason[256] = "";
    int n = iface->probe(reason, sizeof reason);
    if (n < 0) {
        char why[768];
        snprintf(why, sizeof why, "%s", recur_last_error());
        recur_set_error(n == -RECUR_E_ABI ? RECUR_E_ABI : RECUR_E_BACKEND,
                        "backend '%s' (%s): probe failed: %s", iface->name, b->path, why);
        return fail_unload(b, RECUR_E_BACKEND);
    }
    b->device_count = n;
    snprintf(b->probe_reason, sizeof b->probe_reason, "%s", n == 0 ? (reason[0] ? reason : "no reason given") : "");
    *out = b;
    return RECUR_OK;
}

static int looks_like_path(const char *s) {
    size_t len = strlen(s);
    return strchr(s, '/') != NULL || (len > 3 && !strcmp(s + len - 3, ".so"));
}

static int load_named(const char *name, recur_backend **out) {
    char path[PATH_MAX];
    if (looks_like_path(name)) return load_file(name, out);
    if (!find_by_name(name, path, sizeof path)) {
        char names[512], dirs[1024];
        list_names(names, sizeof names);
        describe_dirs(dirs, sizeof dirs);
        return recur_set_error(RECUR_E_NOTFOUND,
                               "unknown backend '%s': no file " PLUGIN_PREFIX "%s" PLUGIN_SUFFIX
                               " found; backends found: %s; folders searched: %s (RECUR_BACKEND_PATH adds more)",
                               name, name, names, dirs);
    }
    return load_file(path, out);
}

/* "auto": a GPU on opencl, else cpu, else ref. */
static int load_auto(recur_backend **out) {
    recur_backend *b = NULL;
    if (load_named("opencl", &b) == RECUR_OK) {
        for (int i = 0; i < b->device_count; i++) {
            recur_device_info info = {.abi_major = RECUR_ABI_MAJOR, .struct_size = sizeof info};
            if (b->iface->device_info(i, &info) == RECUR_OK && info.kind == RECUR_DEVICE_GPU) {
                *out = b;
                return RECUR_OK;
            }
        }
        recur_backend_unload(b);
    }
    if (load_named("cpu", &b) == RECUR_OK && b->device_count > 0) {
        *out = b;
        return RECUR_OK;
    }
    if (b) recur_backend_unload(b);
    return load_named("ref", out);
}

int recur_backend_load(const char *name_or_path, recur_backend **out) {
    if (!out) return recur_set_error(RECUR_E_INVALID, "recur_backend_load: out is NULL");
    *out = NULL;
    const char *name = name_or_path;
    if (!name || !*name) name = recur_getenv("RECUR_BACKEND");
    int st;
    if (!name || !*name) {
        char path[PATH_MAX];
        st = find_by_name("cpu", path, sizeof path) ? load_file(path, out) : load_named("ref", out);
    } else if (!strcmp(name, "auto")) {
        st = load_auto(out);
    } else {
        st = load_named(name, out);
    }
    if (st != RECUR_OK) return st;
    if ((*out)->device_count == 0) {
        recur_set_error(RECUR_E_NODEVICE, "backend '%s' (%s): no device: %s", (*out)->iface->name,
                        (*out)->path, (*out)->probe_reason);
        recur_backend_unload(*out);
        *out = NULL;
        return RECUR_E_NODEVICE;
    }
    return RECUR_OK;
}

void recur_backend_unload(recur_backend *b) {
    if (!b) return;
    if (b->iface && b->iface->shutdown) b->iface->shutdown();
    if (b->handle) dlclose(b->handle);
    free(b);
}

void recur_backend_discover(recur_discover_fn fn, void *user) {
    init_dirs();
    char seen[64][64];
    int nseen = 0;
    for (int i = 0; i < dir_count; i++) {
        DIR *dir = opendir(dir_store[i]);
        if (!dir) continue;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            size_t pre = strlen(PLUGIN_PREFIX), suf = strlen(PLUGIN_SUFFIX);
            if (len <= pre + suf || len - pre - suf >= 64 || strncmp(e->d_name, PLUGIN_PREFIX, pre) ||
                strcmp(e->d_name + len - suf, PLUGIN_SUFFIX))
                continue;
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(len - pre - suf), e->d_name + pre);
            int dup = 0;
            for (int k = 0; k < nseen; k++) dup |= !strcmp(seen[k], name);
            if (dup || nseen >= 64) continue;
            snprintf(seen[nseen++], sizeof seen[0], "%s", name);
            char path[PATH_MAX + 300];
            int plen = snprintf(path, sizeof path, "%s/%s", dir_store[i], e->d_name);
            if (plen < 0 || (size_t)plen >= sizeof path) continue;
            recur_backend *b = NULL;
            int st = load_file(path, &b);
            fn(name, path, b, st, st == RECUR_OK ? (b->device_count ? "" : b->probe_reason) : recur_last_error(),
               user);
        }
        closedir(dir);
    }
}

const char *recur_backend_name(const recur_backend *b) { return b->iface->name; }
const char *recur_backend_version(const recur_backend *b) { return b->iface->version ? b->iface->version : ""; }
const char *recur_backend_path(const recur_backend *b) { return b->path; }
const char *recur_backend_description(const recur_backend *b) {
    return b->iface->description ? b->iface->description : "";
}
uint32_t recur_backend_abi_minor(const recur_backend *b) { return b->iface->abi_minor; }
int recur_backend_device_count(const recur_backend *b) { return b->device_count; }
const recur_backend_iface *recur_backend_get_iface(const recur_backend *b) { return b->iface; }

int recur_backend_device_info(const recur_backend *b, int index, recur_device_info *info) {
    if (index < 0 || index >= b->device_count)
        return recur_set_error(RECUR_E_NOTFOUND, "backend '%s': device %d does not exist (it has %d)",
                               b->iface->name, index, b->device_count);
    memset(info, 0, sizeof *info);
    info->abi_major = RECUR_ABI_MAJOR;
    info->struct_size = sizeof *info;
    int st = b->iface->device_info(index, info);
    info->name[sizeof info->name - 1] = '\0';
    info->vendor[sizeof info->vendor - 1] = '\0';
    info->driver[sizeof info->driver - 1] = '\0';
    info->platform[sizeof info->platform - 1] = '\0';
    return st;
}
