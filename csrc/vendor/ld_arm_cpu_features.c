/* Compiles vendored libdeflate's lib/arm/cpu_features.c unchanged; its code is not
 * written for -Wextra's sign-compare check, which spoolkit's own code keeps. */
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "libdeflate/lib/arm/cpu_features.c"
