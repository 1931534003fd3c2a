//go:build race

package config

// raceDetector: this test binary runs under the race detector, whose
// overhead makes timings say nothing about a parser's complexity.
const raceDetector = true
