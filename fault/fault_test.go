package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindsAndCodes(t *testing.T) {
	c := Define("fault_test_thing", Conflict)
	err := fmt.Errorf("outer: %w", c.New("guest %q is running", "web01"))
	tests := []struct {
		name string
		got  bool
	}{
		{"Is finds the code through %w", Is(err, c)},
		{"Is refuses another code", !Is(err, CodeConflict)},
		{"IsKind", IsKind(err, Conflict)},
		{"KindOf a plain error is Internal", KindOf(errors.New("x")) == Internal},
		{"KindOf a wrapped fault", KindOf(err) == Conflict},
		{"message kept", As(err).Message == `guest "web01" is running`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.got {
				t.Fatal("false")
			}
		})
	}
}

func TestDefineTwiceWithAnotherKindPanics(t *testing.T) {
	Define("fault_test_twice", NotFound)
	Define("fault_test_twice", NotFound) // the same meaning again is fine
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Define("fault_test_twice", Conflict)
}

func TestInternalKeepsCauseOutOfMessage(t *testing.T) {
	cause := errors.New("secret path /var/lib/x")
	e := Internalf(cause)
	if e.Message != "internal error" || !errors.Is(e, cause) {
		t.Fatalf("got %q, cause kept %v", e.Message, errors.Is(e, cause))
	}
}

func TestKindNames(t *testing.T) {
	if ks := Kinds(); len(ks) != int(UpgradeRequired)+1 || ks[len(ks)-1] != UpgradeRequired {
		t.Fatalf("Kinds() = %v", ks)
	}
	for _, k := range Kinds() {
		if k.String() == "" || k.String()[0] == 'k' {
			t.Errorf("kind %d has no name", k)
		}
	}
}
