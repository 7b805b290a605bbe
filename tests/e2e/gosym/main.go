// Command gosym names Go functions at addresses of a binary whose pclntab
// no tool finds by itself (a stripped PIE of Go < 1.22 keeps it inside
// .data.rel.ro, with no section or symbol of its own): given where the
// table is and where runtime.text is, Go's own reader (debug/gosym) names
// each address read from stdin, one name per line ("?" outside Go code).
//
// Usage: gosym BINARY PCLNTAB-FILE-OFFSET TEXT-START < addresses
package main

import (
	"bufio"
	"debug/gosym"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: gosym BINARY PCLNTAB-OFFSET TEXT-START")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	off, err1 := strconv.ParseUint(os.Args[2], 0, 64)
	text, err2 := strconv.ParseUint(os.Args[3], 0, 64)
	if err1 != nil || err2 != nil || off >= uint64(len(data)) {
		fmt.Fprintln(os.Stderr, "bad offset or text start")
		os.Exit(2)
	}
	table, err := gosym.NewTable(nil, gosym.NewLineTable(data[off:], text))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		pc, err := strconv.ParseUint(strings.TrimSpace(in.Text()), 0, 64)
		name := "?"
		if f := table.PCToFunc(pc); err == nil && f != nil {
			name = f.Name
		}
		fmt.Fprintln(out, name)
	}
}
