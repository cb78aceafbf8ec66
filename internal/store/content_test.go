package store

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/genscope/genscope/internal/genai"
)

func msg(role, text string) genai.Message {
	return genai.Message{Role: role, Parts: []genai.Part{{Type: "text", Content: text}}}
}

func TestInputPreviewText(t *testing.T) {
	toolResp := genai.Message{Role: "tool", Parts: []genai.Part{{Type: "tool_call_response", ID: "c1", Response: "21"}}}
	for _, c := range []struct {
		name string
		in   []genai.Message
		want string
	}{
		{"none", nil, ""},
		{"system then user", []genai.Message{msg("system", "Be brief."), msg("user", "Capital of France?")}, "Capital of France?"},
		{"history: the last user message", []genai.Message{msg("developer", "Rules"), msg("user", "first"),
			msg("assistant", "answer"), msg("user", "second"), toolResp}, "second"},
		{"a user message without text is skipped", []genai.Message{msg("user", "asked"),
			{Role: "user", Parts: []genai.Part{{Type: "uri", Content: "https://x/cat.png"}}}}, "asked"},
		{"no user message: all but the system", []genai.Message{msg("system", "S"), msg("assistant", "a"), msg("", "b")}, "a\nb"},
		{"only system", []genai.Message{msg("system", "S")}, ""},
	} {
		if got := InputPreviewText(c.in); got != c.want {
			t.Errorf("%s: InputPreviewText = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestOwnContentPreviewSegment(t *testing.T) {
	long := strings.Repeat("é", PreviewLen*3)
	sp := genai.Span{
		SystemInstructions: []genai.Part{{Type: "text", Content: "Be brief."}},
		InputMessages:      []genai.Message{msg("system", "Be brief."), msg("user", long)},
		OutputMessages:     []genai.Message{msg("assistant", "ok")},
	}
	mask, text := OwnContent(&sp)
	if mask != MaskAll {
		t.Fatalf("mask %d", mask)
	}
	seg := strings.Split(text, "\x00")
	if len(seg) != 4 {
		t.Fatalf("%d segments, want 4", len(seg))
	}
	if seg[0] != "Be brief." || seg[1] != "Be brief.\n"+long || seg[2] != "ok" {
		t.Errorf("segments %q", seg[:3])
	}
	// The preview is a bounded prefix of the user's message: a substring
	// of the input, long enough for Preview to mark the cut.
	if n := utf8.RuneCountInString(seg[3]); n != PreviewLen+1 || !strings.HasPrefix(long, seg[3]) {
		t.Errorf("preview segment of %d runes", n)
	}
	if p := Preview(seg[3]); p != Preview(long) {
		t.Errorf("Preview of the segment %q differs from Preview of the message", p)
	}
	if m, text := OwnContent(&genai.Span{}); m != 0 || text != "" {
		t.Errorf("no content: %d %q", m, text)
	}
}
