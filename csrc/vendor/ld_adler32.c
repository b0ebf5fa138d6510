/* Compiles vendored libdeflate's lib/adler32.c unchanged; its code is not
 * written for -Wextra's sign-compare check, which spoolkit's own code keeps. */
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "libdeflate/lib/adler32.c"
