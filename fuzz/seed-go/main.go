// A tiny Go program: its stripped builds seed the pclntab and CFI fuzz
// corpora (fuzz/seeds.sh builds it).
package main

//go:noinline
func work(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += square(i)
	}
	return s
}

func square(i int) int { return i * i }

func main() { println(work(1000)) }
