package store

import (
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
)

func TestUploadsSQLite(t *testing.T) {
	s, _ := openStore(t, "")
	testUploads(t, s)
}

// testUploads is the suite every Uploads implementation must pass.
func testUploads(t *testing.T, us Uploads) {
	ctx := t.Context()
	mk := func(id, pool, vol, owner string, created time.Time) Upload {
		return Upload{ID: id, Host: "local", Pool: pool, Volume: vol, Format: "raw", Size: 100, Owner: owner,
			Stored: true, Created: created, Updated: created, Expires: created.Add(time.Hour)}
	}
	a := mk("a", "p1", "disk.img", "local:alice", base)
	b := mk("b", "p1", "other.iso", "local:bob", base.Add(time.Minute))
	for _, u := range []Upload{a, b} {
		if err := us.CreateUpload(ctx, u); err != nil {
			t.Fatalf("CreateUpload(%s): %v", u.ID, err)
		}
	}
	t.Run("round trip", func(t *testing.T) {
		got, err := us.GetUpload(ctx, "a")
		if err != nil || got != a {
			t.Fatalf("GetUpload = %+v, %v; want %+v", got, err, a)
		}
	})
	t.Run("same volume refused", func(t *testing.T) {
		err := us.CreateUpload(ctx, mk("c", "p1", "disk.img", "local:bob", base))
		if !fault.Is(err, CodeUploadExists) {
			t.Fatalf("err = %v, want upload_exists", err)
		}
		if err := us.CreateUpload(ctx, mk("a", "p2", "x", "local:bob", base)); !fault.Is(err, CodeUploadExists) {
			t.Fatalf("same id: err = %v, want upload_exists", err)
		}
	})
	t.Run("list by owner", func(t *testing.T) {
		all, err := us.ListUploads(ctx, "local", "")
		if err != nil || len(all) != 2 || all[0].ID != "a" || all[1].ID != "b" {
			t.Fatalf("ListUploads(all) = %+v, %v", all, err)
		}
		bobs, err := us.ListUploads(ctx, "local", "local:bob")
		if err != nil || len(bobs) != 1 || bobs[0].ID != "b" {
			t.Fatalf("ListUploads(bob) = %+v, %v", bobs, err)
		}
		other, err := us.ListUploads(ctx, "elsewhere", "")
		if err != nil || len(other) != 0 {
			t.Fatalf("ListUploads(other host) = %+v, %v", other, err)
		}
	})
	t.Run("advance", func(t *testing.T) {
		now := base.Add(30 * time.Minute)
		if err := us.AdvanceUpload(ctx, "a", 60, now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ := us.GetUpload(ctx, "a")
		if got.Offset != 60 || !got.Updated.Equal(now) || !got.Expires.Equal(now.Add(time.Hour)) {
			t.Fatalf("after advance: %+v", got)
		}
		if err := us.AdvanceUpload(ctx, "a", 101, now, now); err == nil {
			t.Fatal("offset past the size accepted")
		}
		if err := us.AdvanceUpload(ctx, "nope", 1, now, now); !fault.Is(err, CodeUploadNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		// b expires at base+61m, a at base+90m (advanced above).
		got, err := us.ExpiredUploads(ctx, base.Add(61*time.Minute))
		if err != nil || len(got) != 1 || got[0].ID != "b" {
			t.Fatalf("ExpiredUploads = %+v, %v", got, err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := us.DeleteUpload(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if _, err := us.GetUpload(ctx, "b"); !fault.Is(err, CodeUploadNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if err := us.DeleteUpload(ctx, "b"); !fault.Is(err, CodeUploadNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}
