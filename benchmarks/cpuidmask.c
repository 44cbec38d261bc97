// LD_PRELOAD shim for benchmarks/cpu_numerics.py: restricts the host's CPU as every library
// that asks the CPU itself (MKL, oneDNN, ATen's cpuinfo, NumPy, OpenBLAS) sees it. It turns on
// CPUID faulting (Linux arch_prctl ARCH_SET_CPUID; /proc/cpuinfo flag cpuid_fault) and answers
// each CPUID in the SIGSEGV handler with feature bits cleared:
//   CPUIDMASK=avx2   no AVX-512 (an AVX2 host)     CPUIDMASK=avx    no AVX2/FMA/AVX-512
//   CPUIDMASK=sse42  no AVX at all                 CPUIDVENDOR=amd  report "AuthenticAMD"
// (the vendor spoof is not faithful: the cache/topology leaves stay Intel's).
// Build: gcc -O2 -shared -fPIC -o cpuidmask.so cpuidmask.c
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <asm/prctl.h>
static int level = 0; // 1 avx2, 2 avx, 3 sse42
static long setcpuid(int on) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, on); }
static void handler(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = (ucontext_t *)ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  unsigned char *ip = (unsigned char *)g[REG_RIP];
  if (ip[0] != 0x0f || ip[1] != 0xa2) { signal(SIGSEGV, SIG_DFL); return; }
  uint32_t a = (uint32_t)g[REG_RAX], c = (uint32_t)g[REG_RCX], b, d, leaf = a, sub = c;
  setcpuid(1);
  __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
  setcpuid(0);
  if (leaf == 0 && getenv("CPUIDVENDOR")) { b = 0x68747541; d = 0x69746e65; c = 0x444d4163; } // AuthenticAMD
  if (leaf == 1) {
    if (level >= 2) c &= ~((1u << 12) | (1u << 29)); // FMA, F16C
    if (level >= 3) c &= ~((1u << 28) | (1u << 27));  // AVX, OSXSAVE
  }
  if (leaf == 7 && sub == 0) {
    b &= ~((1u<<16)|(1u<<17)|(1u<<21)|(1u<<26)|(1u<<27)|(1u<<28)|(1u<<30)|(1u<<31));
    c &= ~((1u<<1)|(1u<<6)|(1u<<11)|(1u<<12)|(1u<<14));
    d &= ~((1u<<2)|(1u<<3)|(1u<<8)|(1u<<22)|(1u<<23)|(1u<<24)|(1u<<25));
    if (level >= 2) b &= ~(1u << 5);                 // AVX2
    if (level >= 2) c &= ~((1u<<9)|(1u<<10));         // VAES, VPCLMULQDQ
  }
  if (leaf == 7 && sub == 1) a &= ~((1u<<4)|(1u<<5)|(1u<<23));  // AVX-VNNI, AVX512_BF16, AVX-IFMA
  if (leaf == 0xd && sub == 0 && level >= 1) a &= ~0xe0u;        // XCR0 opmask/ZMM state
  if (leaf == 0xd && sub == 0 && level >= 3) a &= ~0x4u;         // YMM state
  g[REG_RAX] = a; g[REG_RBX] = b; g[REG_RCX] = c; g[REG_RDX] = d;
  g[REG_RIP] += 2;
}
__attribute__((constructor)) static void init(void) {
  const char *m = getenv("CPUIDMASK");
  if (!m || !*m) return;
  level = !strcmp(m, "vendor") ? 0 : !strcmp(m, "avx2") ? 1 : !strcmp(m, "avx") ? 2 : !strcmp(m, "sse42") ? 3 : 0;
  if (!level && !getenv("CPUIDVENDOR")) return;
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  if (setcpuid(0) != 0) { write(2, "cpuidmask: ARCH_SET_CPUID failed\n", 33); _exit(99); }
}
