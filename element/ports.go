package element

import (
	"time"

	"github.com/vidflow/vidflow/media"
)

// Ports is an element's view of the running pipeline: its input queues,
// its outputs, its statistics and the message bus. The engine gives each
// element its own Ports when the pipeline starts.
type Ports interface {
	// Name is the element's name.
	Name() string
	// NumIn is the number of input queues. It grows while a batcher takes
	// new streams.
	NumIn() int
	// Recv waits for the next item of the (single) input queue. Buffers
	// pass the element's sink probes first. It returns the context's cause
	// when the pipeline stops.
	Recv() (Item, error)
	// TryRecv takes the next item of input queue i if there is one. ok is
	// false when the queue was empty or a probe dropped the buffer.
	TryRecv(i int) (it Item, ok bool, err error)
	// Wake is signalled when an item is queued on any input: elements with
	// several inputs wait on it after finding all queues empty.
	Wake() <-chan struct{}
	// Emit sends an item to every output (a buffer is shared with branches
	// after the first). Buffers pass the element's src probes first. Emit
	// owns the item's buffer from the call on, whatever it returns.
	Emit(it Item) error
	// EmitBuffer is Emit of a buffer.
	EmitBuffer(b *media.Buffer) error
	// Observe records the time the element spent on one buffer.
	Observe(d time.Duration)
	// Dropped counts n buffers the element dropped.
	Dropped(n int)
	// Reconnected counts a reconnection of a live source.
	Reconnected()
	// AddPool registers a frame pool so statistics report its use (and
	// tests can check it is back to zero).
	AddPool(pl *media.Pool)
	// Post sends a message to the application.
	Post(m Message)
	// Info posts an InfoMessage from this element.
	Info(format string, args ...any)
	// Warn posts a WarningMessage from this element.
	Warn(format string, args ...any)
}
