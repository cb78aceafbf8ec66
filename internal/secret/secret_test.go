package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSecretNeverPrints(t *testing.T) {
	const canary = "sk-canary-7f3a9"
	s := struct {
		Key Secret `yaml:"key" json:"key"`
	}{Secret(canary)}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "key", s.Key, "struct", s)
	js, _ := json.Marshal(s)
	ym, _ := yaml.Marshal(s)
	out := fmt.Sprint(s.Key, s) + fmt.Sprintf("%v %+v %#v %s", s, s, s, s.Key) + string(js) + string(ym) + logs.String()
	if strings.Contains(out, canary) {
		t.Fatalf("secret leaked: %s", out)
	}
	if s.Key.Reveal() != canary {
		t.Fatal("Reveal lost the value")
	}
	var back struct {
		Key Secret `yaml:"key"`
	}
	if err := yaml.Unmarshal([]byte("key: "+canary), &back); err != nil || back.Key.Reveal() != canary {
		t.Fatalf("decode: %v %q", err, back.Key.Reveal())
	}
}
