package vidflow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vidflow/vidflow"
	"github.com/vidflow/vidflow/element"
	"github.com/vidflow/vidflow/media"
)

func TestRegisterKind(t *testing.T) {
	err := vidflow.RegisterKind(element.KindSpec{
		Kind:  "test-invert",
		Role:  element.RoleTransform,
		Props: []element.PropSpec{{Name: "amount", Type: element.Int, Default: 255}},
		New: func(c *element.Config) (element.Element, error) {
			amount := byte(c.Int("amount"))
			return &element.Map{Fn: func(_ context.Context, b *media.Buffer) error {
				s, _ := b.Surface(0)
				for i := range s.Data {
					s.Data[i] = amount - s.Data[i]
				}
				return nil
			}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := vidflow.RegisterKind(element.KindSpec{Kind: "test-invert", New: nil}); err == nil {
		t.Error("registering a kind without New: no error")
	}
	var first byte
	r := retrieverFunc(func(b *media.Buffer) error {
		s, _ := b.Surface(0)
		first = s.Data[0]
		return nil
	})
	err = vidflow.NewFlow(vidflow.NewPipeline("custom")).Inject([]media.BufferProvider{&solidProvider{
		info: media.StreamInfo{Format: media.RGB, Width: 8, Height: 8}, px: []byte{10, 20, 30}, n: 1}}).
		Add("test-invert", vidflow.Props{"amount": 100}).Retrieve(r).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first != 90 {
		t.Errorf("custom element gave %d, want 100-10", first)
	}
	err = vidflow.NewFlow(vidflow.NewPipeline("custom")).Capture([]string{"testsrc://"}).Add("test-invert", vidflow.Props{"amout": 1}).Err()
	if err == nil || !strings.Contains(err.Error(), `unknown property "amout"`) {
		t.Errorf("unknown property of a custom kind: %v", err)
	}
}
