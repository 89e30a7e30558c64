#pragma once

// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html), as in
// LevelDB's port/thread_annotations.h and Abseil's base/thread_annotations.h. Under clang with
// -Wthread-safety (CMake adds it, as an error, for every clang build) a field marked
// GUARDED_BY(mu_) read or written without holding mu_ fails the build, and so does a call to a
// REQUIRES(mu_) function without it. Under GCC they expand to nothing.

#if defined(__clang__)
#define DRAM_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define DRAM_THREAD_ANNOTATION(x)
#endif

// A type that is a lock (common::Mutex).
#define CAPABILITY(x) DRAM_THREAD_ANNOTATION(capability(x))
// An RAII type that holds a lock for its lifetime (common::MutexLock).
#define SCOPED_CAPABILITY DRAM_THREAD_ANNOTATION(scoped_lockable)
// A field read and written only with the lock held.
#define GUARDED_BY(x) DRAM_THREAD_ANNOTATION(guarded_by(x))
// A pointer field whose pointee is read and written only with the lock held.
#define PT_GUARDED_BY(x) DRAM_THREAD_ANNOTATION(pt_guarded_by(x))
// A function called with the lock held (the *Locked helpers).
#define REQUIRES(...) DRAM_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
// A function called without the lock (it takes it itself).
#define EXCLUDES(...) DRAM_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// A function that takes the lock and returns holding it / releases a lock it was called with.
#define ACQUIRE(...) DRAM_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) DRAM_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
// A function after which the analysis may assume the lock is held (checked at run time, if at all).
#define ASSERT_CAPABILITY(x) DRAM_THREAD_ANNOTATION(assert_capability(x))
// Turns the analysis off for one function: only where it cannot follow, with a comment saying why.
#define NO_THREAD_SAFETY_ANALYSIS DRAM_THREAD_ANNOTATION(no_thread_safety_analysis)
