/* io.c - file I/O hints shared by the writers. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

int spk_io_writeback(int fd, int64_t offset, int64_t length)
{
    if (fd < 0 || offset < 0 || length < 0)
        return SPK_EARG;
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    /* a hint: starting the write-back of what is behind the writer lets the
       disk work while the writer computes, so the final fsync has little
       left; errors surface at that fsync */
    if (length > 0)
        (void)sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
#endif
    return SPK_OK;
}

int64_t spk_pread_full(int fd, uint8_t *dst, size_t want, uint64_t off)
{
    size_t got = 0;

    while (got < want) {
        ssize_t r = pread(fd, dst + got, want - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno > 0 ? -(int64_t)errno : -(int64_t)EIO;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (int64_t)got;
}
