/* common.c - version, error strings and error reporting. */
#include <stdio.h>

#include "internal.h"

#ifndef SPK_VERSION_STR
#error "SPK_VERSION_STR must be defined by the build (spoolkit/_build.py)"
#endif

const char *spk_version(void) { return SPK_VERSION_STR; }

const char *spk_strerror(int code)
{
    switch (code) {
    case SPK_OK: return "ok";
    case SPK_EFORMAT: return "malformed data";
    case SPK_ETRUNC: return "truncated data";
    case SPK_ECAPACITY: return "exceeds the device's track capacity";
    case SPK_EBUFSIZE: return "output buffer too small";
    case SPK_EARG: return "invalid argument";
    case SPK_ECOMPRESS: return "compression error";
    case SPK_ECRC: return "checksum mismatch";
    case SPK_ENOMEM: return "out of memory";
    case SPK_ELOOP: return "chain loop";
    case SPK_ERANGE: return "address out of range";
    case SPK_EUNSUPPORTED: return "unsupported";
    case SPK_ENOTFOUND: return "not found";
    case SPK_ENOSPACE: return "no space left";
    case SPK_EWINDOW: return "data past the window read";
    case SPK_EIO: return "read failed";
    case SPK_EWRITE: return "write failed";
    default: return "unknown error";
    }
}

int spk_fail(spk_errinfo *err, int code, int64_t offset, int64_t index, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->offset = offset;
        err->index = index;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
