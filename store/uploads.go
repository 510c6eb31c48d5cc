package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/virtportal/virtportal/fault"
)

// Codes of the upload store.
var (
	CodeUploadNotFound = fault.Define("upload_not_found", fault.NotFound)
	CodeUploadExists   = fault.Define("upload_exists", fault.Conflict)
)

// Upload is a resumable upload in progress: the volume it fills and how
// far it is.
type Upload struct {
	ID      string
	Host    string
	Pool    string
	Volume  string
	Format  string
	Size    int64
	Offset  int64 // bytes libvirt has written
	Owner   string
	Stored  bool // false in demo mode: the bytes are counted, not kept
	Created time.Time
	Updated time.Time
	Expires time.Time
}

// Uploads keeps the uploads in progress.
type Uploads interface {
	// CreateUpload stores u; upload_exists when its id or its volume
	// (host, pool, volume) has one already.
	CreateUpload(ctx context.Context, u Upload) error
	// GetUpload returns one upload; upload_not_found if none.
	GetUpload(ctx context.Context, id string) (Upload, error)
	// ListUploads returns the uploads of host (owner "" for everyone's),
	// oldest first.
	ListUploads(ctx context.Context, host, owner string) ([]Upload, error)
	// AdvanceUpload sets the offset and the times of an upload;
	// upload_not_found if none.
	AdvanceUpload(ctx context.Context, id string, offset int64, updated, expires time.Time) error
	// DeleteUpload removes the row; upload_not_found if none.
	DeleteUpload(ctx context.Context, id string) error
	// ExpiredUploads returns the uploads whose expiry is at or before now.
	ExpiredUploads(ctx context.Context, now time.Time) ([]Upload, error)
}

var _ Uploads = (*Store)(nil)

const uploadCols = `id, host, pool, volume, format, size, "offset", owner, stored, created_at, updated_at, expires_at`

func scanUpload(row interface{ Scan(...any) error }) (Upload, error) {
	var u Upload
	var created, updated, expires int64
	if err := row.Scan(&u.ID, &u.Host, &u.Pool, &u.Volume, &u.Format, &u.Size, &u.Offset, &u.Owner, &u.Stored,
		&created, &updated, &expires); err != nil {
		return Upload{}, err
	}
	u.Created, u.Updated, u.Expires = fromNS(created), fromNS(updated), fromNS(expires)
	return u, nil
}

// CreateUpload implements Uploads.
func (s *Store) CreateUpload(ctx context.Context, u Upload) error {
	if u.ID == "" || u.Host == "" || u.Pool == "" || u.Volume == "" || u.Owner == "" || u.Size < 0 {
		return errors.New("store: create upload: incomplete upload")
	}
	n, err := s.execCount(ctx, "create upload",
		`INSERT INTO uploads (`+uploadCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		u.ID, u.Host, u.Pool, u.Volume, u.Format, u.Size, u.Offset, u.Owner, u.Stored,
		toNS(u.Created), toNS(u.Updated), toNS(u.Expires))
	if err != nil {
		return err
	}
	if n == 0 {
		return CodeUploadExists.New("an upload of volume %q in pool %q is in progress", u.Volume, u.Pool)
	}
	return nil
}

// GetUpload implements Uploads.
func (s *Store) GetUpload(ctx context.Context, id string) (Upload, error) {
	u, err := scanUpload(s.r.QueryRowContext(ctx, `SELECT `+uploadCols+` FROM uploads WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Upload{}, CodeUploadNotFound.New("no such upload")
	}
	if err != nil {
		return Upload{}, fmt.Errorf("store: get upload: %w", err)
	}
	return u, nil
}

func (s *Store) queryUploads(ctx context.Context, op, q string, args ...any) ([]Upload, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	defer rows.Close()
	out := []Upload{}
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", op, err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return out, nil
}

// ListUploads implements Uploads.
func (s *Store) ListUploads(ctx context.Context, host, owner string) ([]Upload, error) {
	q, args := `SELECT `+uploadCols+` FROM uploads WHERE host = ?`, []any{host}
	if owner != "" {
		q, args = q+` AND owner = ?`, append(args, owner)
	}
	return s.queryUploads(ctx, "list uploads", q+` ORDER BY created_at, id`, args...)
}

// AdvanceUpload implements Uploads.
func (s *Store) AdvanceUpload(ctx context.Context, id string, offset int64, updated, expires time.Time) error {
	n, err := s.execCount(ctx, "advance upload",
		`UPDATE uploads SET "offset" = ?, updated_at = ?, expires_at = ? WHERE id = ?`,
		offset, toNS(updated), toNS(expires), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return CodeUploadNotFound.New("no such upload")
	}
	return nil
}

// DeleteUpload implements Uploads.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	n, err := s.execCount(ctx, "delete upload", `DELETE FROM uploads WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return CodeUploadNotFound.New("no such upload")
	}
	return nil
}

// ExpiredUploads implements Uploads.
func (s *Store) ExpiredUploads(ctx context.Context, now time.Time) ([]Upload, error) {
	return s.queryUploads(ctx, "expired uploads",
		`SELECT `+uploadCols+` FROM uploads WHERE expires_at <= ? ORDER BY expires_at, id`, toNS(now))
}
