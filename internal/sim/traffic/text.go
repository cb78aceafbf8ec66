package traffic

import (
	"strings"
)

// The text of messages is short, varied and made up from word lists; its
// length does not follow the token counts.

func (g *Generator) system() string {
	s := systemPrompts[g.rng.IntN(len(systemPrompts))]
	if g.rng.Float64() < 0.3 {
		s += " " + constraints[g.rng.IntN(len(constraints))]
	}
	return s
}

func (g *Generator) question() string {
	q := questions[g.rng.IntN(len(questions))]
	var b strings.Builder
	b.Grow(len(q) + 24)
	for {
		i := strings.Index(q, "%s")
		if i < 0 {
			b.WriteString(q)
			return b.String()
		}
		b.WriteString(q[:i])
		b.WriteString(nouns[g.rng.IntN(len(nouns))])
		q = q[i+2:]
	}
}

// answer is one to four sentences.
func (g *Generator) answer() string {
	var b strings.Builder
	b.Grow(256)
	for i := range 1 + g.rng.IntN(4) {
		if i > 0 {
			b.WriteByte(' ')
		}
		g.writeSentence(&b, 5+g.rng.IntN(8))
	}
	return b.String()
}

func (g *Generator) sentence(n int) string {
	var b strings.Builder
	b.Grow(n * 7)
	g.writeSentence(&b, n)
	return b.String()
}

func (g *Generator) writeSentence(b *strings.Builder, n int) {
	for i := range n {
		w := words[g.rng.IntN(len(words))]
		if i == 0 {
			b.WriteByte(w[0] - 'a' + 'A')
			b.WriteString(w[1:])
			continue
		}
		b.WriteByte(' ')
		b.WriteString(w)
	}
	b.WriteByte('.')
}
