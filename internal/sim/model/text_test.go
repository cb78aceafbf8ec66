package model

import (
	"slices"
	"strings"
	"testing"
)

func TestTopicKeywordsPersona(t *testing.T) {
	for _, tc := range []struct {
		user, topic string
		keywords    []string
	}{
		{labQuestion, "recommended supplies for a camping trip in the mountains", []string{"supplies", "camping trip", "mountains"}},
		{"How do I learn Go? Answer in one sentence.", "learn Go", []string{"learn Go"}},
		{"Describe the history of Paris in 40 words.", "the history of Paris", []string{"history", "Paris"}},
		{"Explain how Kubernetes schedules pods, briefly.", "how Kubernetes schedules pods", []string{"Kubernetes schedules pods"}},
		{"", "", nil},
		{"ȺȺȺ WHAT IS ȺȺ in 3 words", "ȺȺȺ WHAT IS ȺȺ", []string{"ȺȺȺ", "ȺȺ"}},
	} {
		if got := topicOf(tc.user); got != tc.topic {
			t.Errorf("topicOf(%q) = %q, want %q", tc.user, got, tc.topic)
		}
		if got := keywords(tc.user, 6); !slices.Equal(got, tc.keywords) {
			t.Errorf("keywords(%q) = %q, want %q", tc.user, got, tc.keywords)
		}
	}
	if got := personaOf(labSystem); got != "travel guide" {
		t.Errorf("persona %q", got)
	}
	if got := personaOf("You are a helpful assistant."); got != "" {
		t.Errorf("persona %q", got)
	}
}

func TestParseShape(t *testing.T) {
	for _, tc := range []struct {
		text string
		want shape
	}{
		{labQuestion, shape{}},
		{labRule, shape{sentences: 1, list: true}},
		{"Be concise.", shape{brief: true}},
		{"Reply in 50 words or fewer.", shape{words: 50}},
		{"Use two sentences and bullet points.", shape{sentences: 2, list: true}},
		{"Answer in a sentence.", shape{sentences: 1}},
	} {
		if got := parseShape(tc.text); got != tc.want {
			t.Errorf("parseShape(%q) = %+v, want %+v", tc.text, got, tc.want)
		}
	}
}

func TestComposeDeterministic(t *testing.T) {
	a := compose("[simulated gpt-4o] ", labSystem, labQuestion, 42, 0)
	if b := compose("[simulated gpt-4o] ", labSystem, labQuestion, 42, 0); a != b {
		t.Error("same seed, different text")
	}
	if b := compose("[simulated gpt-4o] ", labSystem, labQuestion, 42, 1); a == b {
		t.Error("another choice, same text")
	}
	if strings.Contains(a, "{K}") || strings.Contains(a, "{T}") {
		t.Errorf("unfilled placeholder: %s", a)
	}
	if got := compose("", "", "{K}{T}", 1, 0); strings.Contains(got, "{K}{T}") == false {
		t.Errorf("prompt text is not a template: %s", got)
	}
}
