package store

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/genscope/genscope/internal/genai"
)

// Content kinds a span carries itself, as a bit mask (backends store it
// with the span).
const (
	MaskSystem uint8 = 1
	MaskInput  uint8 = 2
	MaskOutput uint8 = 4
	MaskAll          = MaskSystem | MaskInput | MaskOutput
)

// OwnContent is the content a span carries itself: the mask of its kinds
// and their text (system, input and output joined by NUL), which backends
// store for text filters.
func OwnContent(sp *genai.Span) (mask uint8, text string) {
	if sp.SystemInstructions != nil {
		mask |= MaskSystem
	}
	if sp.InputMessages != nil {
		mask |= MaskInput
	}
	if sp.OutputMessages != nil {
		mask |= MaskOutput
	}
	if mask == 0 {
		return 0, ""
	}
	var b strings.Builder
	b.WriteString(PartsText(sp.SystemInstructions))
	b.WriteByte(0)
	b.WriteString(MessagesText(sp.InputMessages))
	b.WriteByte(0)
	b.WriteString(MessagesText(sp.OutputMessages))
	return mask, b.String()
}

// ApplyRecord adds a stored MessageRecord (its message as JSON) to a span
// that lacks content of its kind (mask is the span's own content), as the
// contract says: own content wins, records fill the kinds it lacks.
func ApplyRecord(sp *genai.Span, mask uint8, kind genai.MessageKind, message string, truncated bool) error {
	var bit uint8
	switch kind {
	case genai.KindSystem:
		bit = MaskSystem
	case genai.KindInput:
		bit = MaskInput
	case genai.KindOutput:
		bit = MaskOutput
	default:
		return nil
	}
	if mask&bit != 0 {
		return nil
	}
	var msg genai.Message
	if err := json.Unmarshal([]byte(message), &msg); err != nil {
		return fmt.Errorf("decode message record: %w", err)
	}
	switch kind {
	case genai.KindSystem:
		sp.SystemInstructions = append(sp.SystemInstructions, msg.Parts...)
	case genai.KindInput:
		sp.InputMessages = append(sp.InputMessages, msg)
	case genai.KindOutput:
		sp.OutputMessages = append(sp.OutputMessages, msg)
	}
	if truncated {
		sp.ContentTruncated = true
	}
	return nil
}
