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
// and their text (system, input and output joined by NUL, then NUL and
// the input preview's text, see InputPreviewText, cut to PreviewLen+1
// runes), which backends store for text filters and previews. The
// preview's text is a substring of the input text, so it never makes a
// text filter match what the input alone would not.
//
// Rows written before the preview segment existed have three segments;
// readers take the whole input text as their preview.
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
	b.WriteByte(0)
	b.WriteString(runePrefix(InputPreviewText(sp.InputMessages), PreviewLen+1))
	return mask, b.String()
}

// InputPreviewText is the text the spans table shows as a call's input:
// the user's last message (the last message of role "user" with text),
// else, when no user message has text, the text of the messages that are
// not system instructions (roles "system" and "developer", which the
// system column shows).
func InputPreviewText(msgs []genai.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			if t := PartsText(msgs[i].Parts); t != "" {
				return t
			}
		}
	}
	return joinText(msgs, genai.IsSystemRole)
}

// RecordsPreviewText is InputPreviewText for input carried by message
// records, whose stored text keeps no role: the text of the last record
// (in time, seq order) that has text.
func RecordsPreviewText(texts []string) string {
	for i := len(texts) - 1; i >= 0; i-- {
		if texts[i] != "" {
			return texts[i]
		}
	}
	return ""
}

// runePrefix is s cut to at most n runes.
func runePrefix(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
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

// SeenByBoth is SeenBy of a record paired with its partner (see Store:
// one call, one count).
func SeenByBoth() []string { return []string{"app", "gateway"} }

// MergeContent is the content of a pair's call (see Store: one call, one
// count) in OwnContent's form: each kind the app record (appMask,
// appText) carries, else the gateway record's.
func MergeContent(appMask uint8, appText string, gwMask uint8, gwText string) (uint8, string) {
	if gwMask&^appMask == 0 {
		return appMask, appText
	}
	a, g := contentSegments(appText), contentSegments(gwText)
	var out [4]string
	for i, bit := range [3]uint8{MaskSystem, MaskInput, MaskOutput} {
		if appMask&bit != 0 {
			out[i] = a[i]
		} else if gwMask&bit != 0 {
			out[i] = g[i]
		}
	}
	switch {
	case appMask&MaskInput != 0:
		out[3] = a[3]
	case gwMask&MaskInput != 0:
		out[3] = g[3]
	}
	return appMask | gwMask, out[0] + "\x00" + out[1] + "\x00" + out[2] + "\x00" + out[3]
}

// contentSegments splits OwnContent's text into system, input, output
// and input preview (the input when a row has no preview segment).
func contentSegments(text string) [4]string {
	var s [4]string
	if text == "" {
		return s
	}
	parts := strings.SplitN(text, "\x00", 4)
	copy(s[:], parts)
	if len(parts) < 4 {
		s[3] = s[1]
	}
	return s
}
