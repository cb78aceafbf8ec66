package store

import (
	"encoding/json"
	"math"
	"testing"
)

func TestFinite(t *testing.T) {
	in := map[string]any{"a": math.NaN(), "b": []any{1.5, math.Inf(-1), map[string]any{"c": math.Inf(1)}}, "d": "x", "e": int64(3)}
	b, err := json.Marshal(Finite(in))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"a":"NaN","b":[1.5,"-Inf",{"c":"+Inf"}],"d":"x","e":3}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := json.Marshal(in); err == nil {
		t.Error("the input itself encodes: the test shows nothing")
	}
	var nilMap map[string]any
	if m, ok := Finite(nilMap).(map[string]any); !ok || m != nil {
		t.Errorf("nil map: %#v", Finite(nilMap))
	}
}
