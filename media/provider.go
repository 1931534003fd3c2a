package media

import "context"

// StreamInfo describes the frames a BufferProvider generates.
type StreamInfo struct {
	Format        ColorFormat
	Width, Height int
	// Framerate in frames per second; timestamps of frames the provider does
	// not stamp are frame number / Framerate. 0 means 30.
	Framerate float64
	// Device is where the frames live: "cpu" (the default when empty).
	Device string
}

// BufferProvider generates the frames of one stream for Inject.
type BufferProvider interface {
	Info() StreamInfo
	// Generate returns the next frame; io.EOF ends the stream.
	Generate(ctx context.Context) (*Buffer, error)
}

// BufferRetriever consumes the buffers that reach a Retrieve sink. The
// buffer is valid until Consume returns: copy what you keep.
type BufferRetriever interface {
	Consume(*Buffer) error
}
