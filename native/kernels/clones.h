// RNN_CLONES: compile a loop-heavy function three times (AVX-512, AVX2, baseline) and pick
// the best at load time. The library is built for baseline x86-64, whose vectors are four
// floats wide; GCC's target_clones lets plain loops use the wide units where the CPU has them.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RNN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RNN_CLONES
#endif
