/* io.c - file I/O hints shared by the writers. */
#include <fcntl.h>

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
