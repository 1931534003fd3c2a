package element

import "testing"

func TestToInt(t *testing.T) {
	for v, want := range map[any]int{3: 3, int64(4): 4, 5.0: 5, " 6 ": 6} {
		if n, err := ToInt(v); err != nil || n != want {
			t.Errorf("ToInt(%v) = %d, %v", v, n, err)
		}
	}
	for _, v := range []any{1.5, "x", nil} {
		if _, err := ToInt(v); err == nil {
			t.Errorf("ToInt(%v): no error", v)
		}
	}
}
