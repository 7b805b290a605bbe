// The demo program of `make demo`: a small "image pipeline" that spends its
// time in Go (decoding), in C called through cgo (a checksum and a blur),
// and in Go called back from C (a per-row filter). A flame graph of it shows
// every kind of frame cgoprof knows, joined into one stack.
//
// Usage: cgo-demo [-d DURATION]
package main

/*
#cgo CFLAGS: -O2 -fomit-frame-pointer
#include <stdint.h>
#include <stddef.h>

extern uint64_t goRowFilter(uint64_t row);

static inline __attribute__((always_inline)) uint32_t mix(uint32_t h, uint8_t b)
{
	return (h ^ b) * 16777619u;
}

__attribute__((noinline)) static uint32_t checksum(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = mix(h, p[i]);
	return h;
}

__attribute__((noinline)) static void blur(uint8_t *p, size_t n)
{
	for (int pass = 0; pass < 4; pass++)
		for (size_t i = 1; i + 1 < n; i++)
			p[i] = (uint8_t)((p[i - 1] + 2 * p[i] + p[i + 1]) / 4);
}

static uint32_t process_image(uint8_t *p, size_t n, int rows)
{
	uint64_t acc = 0;
	blur(p, n);
	for (int r = 0; r < rows; r++)
		acc += goRowFilter((uint64_t)r);
	return checksum(p, n) ^ (uint32_t)acc;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"time"
	"unsafe"
)

//export goRowFilter
func goRowFilter(row C.uint64_t) C.uint64_t {
	x := uint64(row)
	for i := 0; i < 2000; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return C.uint64_t(x)
}

//go:noinline
func decode(buf []byte, seed uint64) {
	x := seed
	for i := range buf {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		buf[i] = byte(x)
	}
}

//go:noinline
func handleImage(buf []byte, seed uint64) uint32 {
	decode(buf, seed)
	return uint32(C.process_image((*C.uint8_t)(unsafe.Pointer(&buf[0])),
		C.size_t(len(buf)), 64))
}

func main() {
	d := flag.Duration("d", 5*time.Second, "run for this long")
	flag.Parse()
	buf := make([]byte, 1<<18)
	start := time.Now()
	var sum uint32
	n := 0
	for time.Since(start) < *d {
		sum ^= handleImage(buf, uint64(n)+1)
		n++
	}
	fmt.Fprintf(os.Stderr, "cgo-demo: %d images, checksum %08x\n", n, sum)
}
