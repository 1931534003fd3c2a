package element

import "time"

// NodeStats is a snapshot of one element's statistics, as the engine
// keeps them (Pipeline.Stats).
type NodeStats struct {
	Name, Kind             string
	BuffersIn, BuffersOut  int64
	FramesIn, FramesOut    int64
	Drops                  int64         // buffers dropped: by probes, leaky queues or the element
	FPS                    float64       // frames out per second over the last few seconds
	LatencyP50, LatencyP95 time.Duration // time the element spent on a buffer, over the last 1024
	QueueDepth, QueueCap   int           // buffers waiting in the element's input queues
	Pools                  int           // pooled frames the element has handed out and not got back
	Reconnects             int64         // times a live source reconnected
	Working, Workers       int           // an element's workers at work now, of how many (Busy; 0 of 0 otherwise)
}
