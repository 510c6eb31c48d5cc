package virt

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/fault"
)

// Codes of volume uploads and downloads.
var (
	// CodeVolumeWriteNotSupported: the host's driver cannot write a
	// volume's contents (the test driver has none).
	CodeVolumeWriteNotSupported = fault.Define("volume_write_not_supported", fault.NotImplemented)
	// CodeVolumeDownloadNotSupported: the host's driver cannot read a
	// volume's contents (the test driver has none).
	CodeVolumeDownloadNotSupported = fault.Define("volume_download_not_supported", fault.NotImplemented)
)

// streamChunk is what one Send or Recv moves: libvirt's RPC carries at
// most 256 KiB of stream data per message.
const streamChunk = 256 << 10

// FilePool reports whether a pool type keeps volumes as files, so that
// formats such as iso and qcow2 apply (block pools hold raw data only).
func FilePool(poolType string) bool {
	switch poolType {
	case "dir", "fs", "netfs", "gluster":
		return true
	}
	return false
}

// CreateUploadVolume creates the volume an upload fills: size bytes,
// allocated on write, of format (raw, qcow2 or iso; the caller has chosen
// one the pool type takes). An existing name is refused.
func (m *Manager) CreateUploadVolume(ctx context.Context, pool, name, format string, size uint64) error {
	defer m.volumesChanged() // listings show the new volume and its allocation at once
	if err := ValidateVolumeName(name); err != nil {
		return err
	}
	if size == 0 || size > MaxVolumeCapacity {
		return CodeInvalidCapacity.New("an upload must be between 1 byte and %d bytes", uint64(MaxVolumeCapacity))
	}
	return m.withPool(ctx, pool, func(_ *libvirt.Connect, p *libvirt.StoragePool) error {
		if err := m.activePool(p, pool); err != nil {
			return err
		}
		if v, err := p.LookupStorageVolByName(name); err == nil {
			_ = v.Free()
			return CodeVolumeExists.New("pool %q already has a volume %q", pool, name)
		} else if libvirtCode(err) != libvirt.ERR_NO_STORAGE_VOL {
			return m.storageFail("find volume", pool, name, err)
		}
		x := libvirtxml.StorageVolume{
			Name:       name,
			Capacity:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: size},
			Allocation: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: 0},
		}
		x.Target = &libvirtxml.StorageVolumeTarget{Permissions: m.ownedPermissions(poolType(p))}
		if format != "" {
			x.Target.Format = &libvirtxml.StorageVolumeTargetFormat{Type: format}
		}
		doc, err := x.Marshal()
		if err != nil {
			return m.fail("create volume", "", err)
		}
		v, err := p.StorageVolCreateXML(doc, 0)
		if err != nil {
			return m.storageFail("create volume", pool, name, err)
		}
		return v.Free()
	})
}

// DeleteUploadVolume deletes a partial upload's volume; one already gone
// is no error. Unlike DeletePoolVolume it does not wait for the guest
// index: no guest can use a volume still being uploaded.
func (m *Manager) DeleteUploadVolume(ctx context.Context, pool, name string) error {
	defer m.volumesChanged() // listings show the new volume and its allocation at once
	err := m.withVolume(ctx, pool, name, func(_ *libvirt.StoragePool, v *libvirt.StorageVol) error {
		if err := v.Delete(0); err != nil {
			return m.storageFail("delete volume", pool, name, err)
		}
		return nil
	})
	if fault.Is(err, CodeVolumeNotFound) {
		return nil
	}
	return err
}

// UploadVolume writes what src yields (at most length bytes) into the
// volume at offset through one libvirt upload stream, and returns how many
// bytes libvirt has written. When src fails (a client that hung up) the
// stream is finished, not aborted: finishing makes libvirt write all it
// was sent, so the count returned is exact; if even that fails, 0 is
// returned, as nothing sent can be counted on (a resume rewrites it).
func (m *Manager) UploadVolume(ctx context.Context, pool, name string, offset, length uint64, src io.Reader) (int64, error) {
	defer m.volumesChanged() // listings show the new volume and its allocation at once
	var written int64
	err := m.withVolume(ctx, pool, name, func(p *libvirt.StoragePool, v *libvirt.StorageVol) error {
		if f := m.ownFile(poolType(p), v); f != nil {
			n, err := writeFile(f, offset, length, src)
			written = n
			var pe *os.PathError
			switch {
			case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
				return CodeInsufficientSpace.Wrap(err, "pool %q is full", pool)
			case errors.As(err, &pe): // the file's error, not the client's
				return m.storageFail("upload volume", pool, name, err)
			}
			return err
		}
		c, err := m.acquire()
		if err != nil {
			return err
		}
		defer release(c)
		st, err := c.NewStream(0)
		if err != nil {
			return m.fail("upload volume", name, err)
		}
		defer func() { _ = st.Free() }()
		if err := v.Upload(st, offset, length, 0); err != nil {
			if libvirtCode(err) == libvirt.ERR_NO_SUPPORT {
				return CodeVolumeWriteNotSupported.New("this host's libvirt driver cannot write volume contents")
			}
			return m.storageFail("upload volume", pool, name, err)
		}
		sent, srcErr, sendErr := pump(st, src, int64(length))
		if sendErr != nil {
			_ = st.Abort()
			return m.storageFail("upload volume", pool, name, sendErr)
		}
		if err := st.Finish(); err != nil {
			return m.storageFail("upload volume", pool, name, err)
		}
		written = sent
		return srcErr
	})
	return written, err
}

// pump sends src to the stream until EOF, limit bytes, or an error: that
// of the source (srcErr) or of libvirt (sendErr). Reading the next chunk
// (from a client's request body) overlaps sending the last one to libvirt,
// which a plain loop would do one after the other. Only bytes libvirt took
// count as sent.
func pump(st *libvirt.Stream, src io.Reader, limit int64) (sent int64, srcErr, sendErr error) {
	type chunk struct {
		b   []byte
		n   int
		err error // the read's error after these n bytes; io.EOF at the end
	}
	const depth = 4
	free := make(chan []byte, depth)
	for range depth {
		free <- make([]byte, streamChunk)
	}
	full := make(chan chunk, depth)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(full)
		var read int64
		for limit <= 0 || read < limit {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			want := buf
			if limit > 0 && int64(len(want)) > limit-read {
				want = want[:limit-read]
			}
			n, err := io.ReadFull(src, want)
			read += int64(n)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			select {
			case full <- chunk{buf, n, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range full {
		for off := 0; off < c.n; {
			k, err := st.Send(c.b[off:c.n])
			if err != nil {
				return sent, nil, err
			}
			off += k
			sent += int64(k)
		}
		switch {
		case c.err == nil:
			free <- c.b
		case errors.Is(c.err, io.EOF):
			return sent, nil, nil
		default:
			return sent, c.err, nil
		}
	}
	return sent, nil, nil
}

// VolumeContentSize is the size of the volume's contents as a download
// yields them: the file's size for file pools (a qcow2 file, not its
// virtual disk), the capacity for block pools.
func (m *Manager) VolumeContentSize(ctx context.Context, pool, name string) (int64, error) {
	var size int64
	err := m.withVolume(ctx, pool, name, func(_ *libvirt.StoragePool, v *libvirt.StorageVol) error {
		info, err := v.GetInfoFlags(libvirt.STORAGE_VOL_GET_PHYSICAL)
		if err != nil {
			if info, err = v.GetInfo(); err != nil {
				return m.storageFail("read volume", pool, name, err)
			}
			size = int64(info.Capacity)
			return nil
		}
		size = int64(info.Allocation) // with GET_PHYSICAL: the physical size
		return nil
	})
	return size, err
}

// VolumeReader reads a volume's contents from libvirt's download stream.
type VolumeReader struct {
	c           *libvirt.Connect
	st          *libvirt.Stream
	eof, closed bool
}

// OpenVolume starts a download of length bytes (0: to the end) from
// offset; the caller closes the reader.
func (m *Manager) OpenVolume(ctx context.Context, pool, name string, offset, length uint64) (*VolumeReader, error) {
	var out *VolumeReader
	err := m.withVolume(ctx, pool, name, func(_ *libvirt.StoragePool, v *libvirt.StorageVol) error {
		c, err := m.acquire()
		if err != nil {
			return err
		}
		st, err := c.NewStream(0)
		if err != nil {
			release(c)
			return m.fail("download volume", name, err)
		}
		if err := v.Download(st, offset, length, 0); err != nil {
			_ = st.Free()
			release(c)
			if libvirtCode(err) == libvirt.ERR_NO_SUPPORT {
				return CodeVolumeDownloadNotSupported.New("this host's libvirt driver cannot read volume contents (the test driver has none)")
			}
			return m.storageFail("download volume", pool, name, err)
		}
		out = &VolumeReader{c: c, st: st}
		return nil
	})
	return out, err
}

// Read implements io.Reader.
func (r *VolumeReader) Read(p []byte) (int, error) {
	if r.eof {
		return 0, io.EOF
	}
	if len(p) > streamChunk {
		p = p[:streamChunk]
	}
	n, err := r.st.Recv(p)
	if errors.Is(err, io.EOF) || (err == nil && n == 0) {
		r.eof = true
		return n, io.EOF
	}
	return n, err
}

// Close finishes a download read to its end and aborts one cut short.
func (r *VolumeReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var err error
	if r.eof {
		err = r.st.Finish()
	} else {
		err = r.st.Abort()
	}
	_ = r.st.Free()
	release(r.c)
	return err
}
