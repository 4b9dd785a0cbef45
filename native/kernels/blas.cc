#include "blas.h"

// Debian's cblas.h declares these OpenBLAS extensions; declare them again in case a
// different CBLAS header was found (the library itself must be OpenBLAS).
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
}

namespace rnn {
void blas_set_num_threads(int n) { openblas_set_num_threads(n); }
int blas_get_num_threads() { return openblas_get_num_threads(); }
const char* blas_config() { return openblas_get_config(); }
}  // namespace rnn
