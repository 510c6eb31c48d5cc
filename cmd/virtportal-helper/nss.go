package main

/*
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/types.h>
*/
import "C"

import (
	"fmt"
	"sync"
	"syscall"
	"unsafe"
)

// nssMu serialises every NSS call the helper makes: the *_r functions are
// thread-safe in glibc, but not every libc and NSS module is, and logins are
// few enough that the lock costs nothing measurable.
var nssMu sync.Mutex

// passwd is the part of a passwd entry the helper returns.
type passwd struct {
	name        string
	uid, gid    uint32
	home, shell string
}

// maxNSSBuf bounds the buffer grown on ERANGE, against a broken NSS module.
const maxNSSBuf = 1 << 20

// notFound reports whether a getpwnam_r/getgrgid_r return code means "no such
// entry": 0 with a NULL result per POSIX, or one of the errnos that the man
// page lists for modules that report it that way.
func notFound(rc C.int) bool {
	switch syscall.Errno(rc) {
	case 0, syscall.ENOENT, syscall.ESRCH, syscall.EBADF, syscall.EPERM:
		return true
	}
	return false
}

// lookupPasswd returns name's passwd entry from NSS; found is false when NSS
// has no such user.
func lookupPasswd(name string) (pw passwd, found bool, err error) {
	nssMu.Lock()
	defer nssMu.Unlock()
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	// C memory throughout: the result points into the buffer, and the cgo
	// rules forbid C keeping pointers into Go memory.
	ent := (*C.struct_passwd)(C.malloc(C.sizeof_struct_passwd))
	defer C.free(unsafe.Pointer(ent))
	res := (**C.struct_passwd)(C.malloc(C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(res))
	for size := 1024; ; size *= 2 {
		buf := C.malloc(C.size_t(size))
		rc := C.getpwnam_r(cname, ent, (*C.char)(buf), C.size_t(size), res)
		if rc == C.ERANGE && size < maxNSSBuf {
			C.free(buf)
			continue
		}
		defer C.free(buf)
		if rc == 0 && *res != nil {
			return passwd{
				name: C.GoString(ent.pw_name), uid: uint32(ent.pw_uid), gid: uint32(ent.pw_gid),
				home: C.GoString(ent.pw_dir), shell: C.GoString(ent.pw_shell),
			}, true, nil
		}
		if notFound(rc) {
			return passwd{}, false, nil
		}
		return passwd{}, false, fmt.Errorf("getpwnam_r(%q): %w", name, syscall.Errno(rc))
	}
}

// groupNames returns the names of the groups of pw: the primary group first,
// then the supplementary groups in NSS order. Groups without a name are left
// out, since the portal maps names, not numbers.
func groupNames(pw passwd) ([]string, error) {
	nssMu.Lock()
	defer nssMu.Unlock()
	gids, err := groupList(pw)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(gids))
	seen := map[uint32]bool{}
	for _, gid := range append([]uint32{pw.gid}, gids...) {
		if seen[gid] {
			continue
		}
		seen[gid] = true
		name, ok, err := groupName(gid)
		if err != nil {
			return nil, err
		}
		if ok {
			names = append(names, name)
		}
	}
	return names, nil
}

// groupList calls getgrouplist; the caller holds nssMu.
func groupList(pw passwd) ([]uint32, error) {
	cname := C.CString(pw.name)
	defer C.free(unsafe.Pointer(cname))
	n := C.int(64)
	for {
		buf := (*C.gid_t)(C.malloc(C.size_t(n) * C.sizeof_gid_t))
		want := n
		rc := C.getgrouplist(cname, C.gid_t(pw.gid), buf, &want)
		if rc == -1 {
			C.free(unsafe.Pointer(buf))
			// want now holds the size needed (glibc); grow at least twofold otherwise.
			if want <= n {
				want = 2 * n
			}
			if want > 65536 {
				return nil, fmt.Errorf("getgrouplist(%q): more than 65536 groups", pw.name)
			}
			n = want
			continue
		}
		gids := make([]uint32, int(want))
		for i, g := range unsafe.Slice(buf, int(want)) {
			gids[i] = uint32(g)
		}
		C.free(unsafe.Pointer(buf))
		return gids, nil
	}
}

// groupName resolves a gid; the caller holds nssMu.
func groupName(gid uint32) (string, bool, error) {
	ent := (*C.struct_group)(C.malloc(C.sizeof_struct_group))
	defer C.free(unsafe.Pointer(ent))
	res := (**C.struct_group)(C.malloc(C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(res))
	for size := 1024; ; size *= 2 {
		buf := C.malloc(C.size_t(size))
		rc := C.getgrgid_r(C.gid_t(gid), ent, (*C.char)(buf), C.size_t(size), res)
		if rc == C.ERANGE && size < maxNSSBuf {
			C.free(buf)
			continue
		}
		defer C.free(buf)
		if rc == 0 && *res != nil {
			return C.GoString(ent.gr_name), true, nil
		}
		if notFound(rc) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("getgrgid_r(%d): %w", gid, syscall.Errno(rc))
	}
}
