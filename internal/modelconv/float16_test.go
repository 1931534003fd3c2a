package modelconv

import (
	"math"
	"testing"
)

func TestFloat16ToFloat32(t *testing.T) {
	cases := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xbc00, -1},
		{0xc000, -2},
		{0x3800, 0.5},
		{0x3555, 0.333251953125},
		{0x3e00, 1.5},
		{0x4248, 3.140625},
		{0x7bff, 65504},                 // largest finite
		{0x0400, 6.103515625e-05},       // smallest normal
		{0x0001, 5.960464477539063e-08}, // smallest subnormal (2^-24)
		{0x03ff, 6.097555160522461e-05}, // largest subnormal
		{0x8001, -5.960464477539063e-08},
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := Float16ToFloat32(c.h); got != c.want {
			t.Errorf("Float16ToFloat32(%#04x) = %v, want %v", c.h, got, c.want)
		}
	}
	if got := Float16ToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("negative zero: got %v", got)
	}
	if got := Float16ToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("NaN: got %v", got)
	}
}

// Every finite half value must round-trip through float32 exactly: check
// against an independent formula.
func TestFloat16Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		exp := (h >> 10) & 0x1f
		if exp == 0x1f {
			continue
		}
		mant := float64(h & 0x3ff)
		var v float64
		if exp == 0 {
			v = mant * math.Pow(2, -24)
		} else {
			v = (1 + mant/1024) * math.Pow(2, float64(exp-15))
		}
		if h&0x8000 != 0 {
			v = -v
		}
		if got := Float16ToFloat32(uint16(h)); float64(got) != v {
			t.Fatalf("Float16ToFloat32(%#04x) = %v, want %v", h, got, v)
		}
	}
}
