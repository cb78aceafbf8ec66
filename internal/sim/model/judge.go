package model

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// judgeCue is what makes the simulated model answer as a judge: a prompt
// that asks for an answer line "score: …", as genscope's LLM-as-judge
// evaluators' answer format does.
const judgeCue = "score:"

// judging reports whether the user's message asks for a judge's score.
func judging(user string) bool {
	return strings.Contains(strings.ToLower(user), judgeCue)
}

// judgeAnswer is the simulated judge's answer: a score from 0.50 to 1.00
// that is a function of the prompt alone (the same prompt always gets
// the same score), in the "score: / explanation:" format.
func judgeAnswer(user string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(user))
	score := 0.5 + float64(h.Sum64()%51)/100
	return fmt.Sprintf("score: %.2f\nexplanation: simulated judge: a deterministic score of this prompt (%d characters)", score, len([]rune(user)))
}
