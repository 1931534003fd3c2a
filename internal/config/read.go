package config

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrMissingFile marks errors about a file that a config names and that
// does not exist (a model, labels, another config), for errors.Is: the
// config itself was read whole and is good.
var ErrMissingFile = errors.New("missing file")

// MaxFileSize bounds what Load (and the label files of nvinfer) read:
// DeepStream's config files are kilobytes; 16 MiB leaves room for large
// label lists and generated configs while keeping one file from taking
// the process's memory.
const MaxFileSize = 16 << 20

// ReadFile reads a config-like file of at most limit bytes. It refuses
// what is not a regular file (a folder, /dev/zero, a FIFO) before
// reading, and reads through a LimitReader, so that neither a device nor
// a file growing while read is read without end. Its errors name the
// file, and the limit when that is the reason.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // a *PathError, naming the file
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%q is not a regular file", path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("file %q is %d bytes, over the limit of %d bytes", path, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("file %q is over the limit of %d bytes", path, limit)
	}
	return data, nil
}

// Reason is an error whose text is its own and that is also kind (for
// errors.Is): "labels file x does not exist" rather than "missing file:
// labels file x does not exist".
func Reason(kind error, format string, args ...any) error {
	return &reason{kind: kind, msg: fmt.Sprintf(format, args...)}
}

type reason struct {
	kind error
	msg  string
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.kind }
