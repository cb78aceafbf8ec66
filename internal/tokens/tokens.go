package tokens

import (
	"fmt"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// o200k is the o200k_base codec, loaded once on first use. The codec is
// read-only after construction and safe for concurrent use.
var o200k = sync.OnceValue(func() tokenizer.Codec {
	c, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		panic(fmt.Sprintf("tokens: o200k_base is built into the tokenizer: %v", err))
	}
	return c
})

// Count returns the number of o200k_base tokens in s.
func Count(s string) int {
	if s == "" {
		return 0
	}
	n, err := o200k().Count(s)
	if err != nil { // the default error mode never fails; count bytes to be safe
		return len(s)
	}
	return n
}

// Ends returns the end offsets (in bytes) of the o200k_base tokens of s:
// token i is s[Ends[i-1]:Ends[i]].
func Ends(s string) []int32 {
	_, toks, err := o200k().Encode(s)
	if err != nil {
		return []int32{int32(len(s))}
	}
	ends := make([]int32, len(toks))
	off := 0
	for i, t := range toks {
		off += len(t)
		ends[i] = int32(off)
	}
	return ends
}
