package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
)

// Route is one line of the route table. Every route names its permission;
// routes about one object name its scope (the resolver and the path
// parameter); unsafe routes name their audit action.
type Route struct {
	Method string
	Path   string
	Perm   rbac.Permission
	Scope  Scope  // the object the permission is decided on; zero: none
	Audit  string // audit action for unsafe methods, e.g. "vm.start"
	Handle func(*gin.Context) error

	// Documentation and limits (the OpenAPI document is generated from them).
	Summary   string        // one line for the API reference
	In, Out   any           // request and response body types (zero values of api types, or Body), nil: none
	Status    int           // success status; 0: 200
	Query     []Param       // query parameters
	BodyLimit int64         // bytes; 0: the server's default; -1: unlimited (the handler bounds it)
	Timeout   time.Duration // 0: the server's default; -1: none (event streams, uploads)
}

// Body is a route's body that is not JSON: its media type.
type Body struct{ MediaType string }

// Param documents one query parameter.
type Param struct{ Name, Doc string }

func perm(object, action string) rbac.Permission {
	return rbac.Permission{Object: object, Action: action}
}

var (
	htmlPage = Body{MediaType: "text/html"}
	pngImage = Body{MediaType: "image/png"}
)

func (s *Server) routes() []Route {
	public := rbac.Public
	rs := []Route{
		{Method: "GET", Path: "/healthz", Perm: public, Handle: s.healthz, Summary: "Liveness: the process answers", Out: api.Health{}},
		{Method: "GET", Path: "/readyz", Perm: public, Handle: s.readyz, Summary: "Readiness: the database and libvirt answer (503 when not)", Out: api.Health{}},
		{Method: "GET", Path: "/static/*file", Perm: public, Handle: s.staticFile, Summary: "The browser app's bundled files", Out: Body{MediaType: "application/octet-stream"}},
		{Method: "GET", Path: "/api/v1/openapi.json", Perm: public, Handle: s.openAPIDoc, Summary: "This API as an OpenAPI 3.1 document", Out: Body{MediaType: "application/json"}},
		{Method: "GET", Path: "/api/docs", Perm: public, Handle: s.apiDocsPage, Summary: "The API reference, readable", Out: htmlPage},

		{Method: "GET", Path: "/api/v1/realms", Perm: public, Handle: s.listRealms, Summary: "The login realms offered", Out: api.Realms{}},
		{Method: "POST", Path: "/api/v1/session", Perm: public, Audit: "session.login", Handle: s.login,
			Summary: "Log in: sets the session cookie and returns the CSRF token", In: api.LoginRequest{}, Out: api.Session{}},
		{Method: "GET", Path: "/api/v1/session", Perm: perm("session", "self"), Handle: s.getSession, Summary: "The caller's session", Out: api.Session{}},
		{Method: "DELETE", Path: "/api/v1/session", Perm: perm("session", "self"), Audit: "session.logout", Handle: s.logout, Summary: "Log out", Status: 204},

		// Hosts: the registry, and one host under /api/v1/hosts/{host}; the
		// older /api/v1/host still answers (the one host) until the Host page moves.
		{Method: "GET", Path: "/api/v1/hosts", Perm: perm("host", "list"), Handle: s.listHosts, Summary: "The hosts: name, state, versions (the URI for admins)", Out: api.HostList{}},
		{Method: "GET", Path: "/api/v1/host", Perm: perm("host", "read"), Handle: s.getHost, Summary: "The one host (deprecated: use /api/v1/hosts/{host})", Out: api.Host{}},
		{Method: "GET", Path: "/api/v1/hosts/:host", Perm: perm("host", "read"), Scope: hostScope("host"), Handle: s.getHost, Summary: "One host: name, libvirt, resources, guest counts", Out: api.Host{}},
		{Method: "GET", Path: "/api/v1/audit", Perm: perm("audit", "read"), Handle: s.listAudit, Summary: "Audit events, newest first", Out: api.AuditList{},
			Query: []Param{{"user", "actor, realm:name"}, {"realm", "actor's realm"}, {"action", "e.g. vm.start"}, {"target", "e.g. vm:web01"},
				{"result", "ok, error:<code> or denied:<code>"}, {"since", "RFC 3339 time"}, {"until", "RFC 3339 time"},
				{"before", "event id: the page after the previous answer's next"}, {"limit", "page size"}}},
		{Method: "GET", Path: "/api/v1/directory/users", Perm: perm("directory", "read"), Handle: s.searchDirectory(false), Summary: "Search the realms' users (for grants)", Out: api.DirList{},
			Query: []Param{{"q", "name prefix"}, {"realm", "one realm; empty: all"}, {"limit", "most entries"}}},
		{Method: "GET", Path: "/api/v1/directory/groups", Perm: perm("directory", "read"), Handle: s.searchDirectory(true), Summary: "Search the realms' groups (for grants)", Out: api.DirList{},
			Query: []Param{{"q", "name prefix"}, {"realm", "one realm; empty: all"}, {"limit", "most entries"}}},

		{Method: "GET", Path: "/api/v1/vms", Perm: perm("vm", "list"), Handle: s.listVMs, Summary: "The guests the caller may see", Out: api.VMList{},
			Query: []Param{{"q", "name contains"}, {"state", "comma-separated states"}, {"sort", "name, state, memory, vcpus, cpu; - for descending"}}},
		// Guest creation from a template (issue 10).
		{Method: "POST", Path: "/api/v1/vms", Perm: permVMCreate, Audit: "vm.create", Handle: s.createVM,
			Summary: "Create a guest from a template (a task); a creator who is not an admin becomes its manager", In: api.VMCreate{}, Out: api.Task{}, Status: 202},
		// Guest import around an existing volume (issue 10).
		{Method: "POST", Path: "/api/v1/vms/import", Perm: permVMCreate, Audit: "vm.import", Handle: s.importVM,
			Summary: "Create a guest around an existing disk volume or ISO, used in place (a task like vm.create)", In: api.VMImport{}, Out: api.Task{}, Status: 202},

		{Method: "GET", Path: "/api/v1/vms/:name", Perm: perm("vm", "read"), Scope: guestScope("name"), Handle: s.getVM, Summary: "One guest with its devices", Out: api.VMDetail{}},
		{Method: "DELETE", Path: "/api/v1/vms/:name", Perm: perm("vm", "delete"), Scope: guestScope("name"), Audit: "vm.delete", Handle: s.deleteVM,
			Summary: "Delete a shut-off guest", Status: 204, Query: []Param{{"volumes", "true: delete its volumes too"}}},
		{Method: "GET", Path: "/api/v1/vms/:name/access", Perm: perm("access", "read"), Scope: guestScope("name"), Handle: s.getAccess, Summary: "Who may use the guest", Out: api.Access{}},
		{Method: "PUT", Path: "/api/v1/vms/:name/access", Perm: perm("access", "write"), Scope: guestScope("name"), Audit: "vm.access.set", Handle: s.putAccess,
			Summary: "Replace the guest's grants", In: api.Access{}, Out: api.Access{}},
		{Method: "PATCH", Path: "/api/v1/vms/:name/access", Perm: perm("access", "write"), Scope: guestScope("name"), Audit: "vm.access.change", Handle: s.patchAccess,
			Summary: "Add and remove grants", In: api.AccessPatch{}, Out: api.Access{}},
		{Method: "GET", Path: "/api/v1/vms/:name/screenshot", Perm: perm("vm", "read"), Scope: guestScope("name"), Handle: s.screenshot, Summary: "A screenshot of the guest's display", Out: pngImage},

		// Guest settings (issue 11): processor, memory, identity and boot;
		// the display and the serial console. Managers edit, viewers read.
		{Method: "GET", Path: "/api/v1/vms/:name/settings", Perm: perm("vm", "read"), Scope: guestScope("name"), Handle: s.getVMSettings,
			Summary: "The guest's processor, memory, identity, boot, display and serial settings with the host's limits (passwords never: only whether one is set)", Out: api.VMSettings{}},
		{Method: "PUT", Path: "/api/v1/vms/:name", Perm: perm("vm", "edit"), Scope: guestScope("name"), Audit: "vm.edit", Handle: s.putVM,
			Summary: "Change the fields given (vCPUs, topology, CPU mode, memory, title, description, autostart, boot, name): live and saved together on a running guest, applied says now or next_boot; 422 settings_invalid naming each bad field (nothing changed), 409 guest_must_be_shut_off, no_memory_slots", In: api.VMUpdate{}, Out: api.VMUpdateResult{}},
		{Method: "PUT", Path: "/api/v1/vms/:name/graphics", Perm: perm("vm", "edit"), Scope: guestScope("name"), Audit: "vm.edit.graphics", Handle: s.putVMGraphics,
			Summary: "Change the display (vnc, spice, none; listen beyond 127.0.0.1 for administrators; keymap; password with expiry, live where libvirt can) and the serial console; type, listen, keymap and serial of a running guest apply at next boot", In: api.VMGraphicsUpdate{}, Out: api.VMUpdateResult{}},

		// Guest clones (issue 10): admins and the guest's managers. The
		// pre-check alone with dry_run; the clone itself is a task.
		{Method: "POST", Path: "/api/v1/vms/:name/clone", Perm: perm("vm", "clone"), Scope: guestScope("name"), Audit: "vm.clone", Handle: s.cloneVM,
			Summary: "Clone a shut-off guest: dry_run answers the plan (per disk: where the copy goes, whether it fits; 200); otherwise a task (202) copying each disk with byte progress, with new UUID, MACs and name and the metadata (grants included) kept; 409 guest_running, clone_no_space (nothing copied)", In: api.VMClone{}, Out: api.Task{}, Status: 202},

		// Guest NICs, snapshots and host devices (issue 11). NICs by MAC;
		// a change answers where it applied (now or next_boot).
		{Method: "GET", Path: "/api/v1/vms/:name/nics", Perm: perm("vm", "read"), Scope: guestScope("name"), Handle: s.listNICs,
			Summary: "The guest's NICs, the models its platform takes (the default from its metadata), and the networks and NIC types the caller may use", Out: api.NICList{}},
		{Method: "POST", Path: "/api/v1/vms/:name/nics", Perm: perm("vm", "edit"), Scope: guestScope("name"), Audit: "vm.nic.add", Handle: s.addNIC,
			Summary: "Add a NIC (live and saved on a running guest): a libvirt network (host bridge or macvtap for administrators), a model, a MAC (generated when absent; 409 mac_in_use naming the guest)", In: api.NICRequest{}, Out: api.NICChange{}, Status: 201},
		{Method: "PUT", Path: "/api/v1/vms/:name/nics/:mac", Perm: perm("vm", "edit"), Scope: guestScope("name"), Audit: "vm.nic.update", Handle: s.updateNIC,
			Summary: "Change a NIC's network, model or link state (the link live; a new model at the next boot of a running guest)", In: api.NICRequest{}, Out: api.NICChange{}},
		{Method: "DELETE", Path: "/api/v1/vms/:name/nics/:mac", Perm: perm("vm", "edit"), Scope: guestScope("name"), Audit: "vm.nic.remove", Handle: s.removeNIC,
			Summary: "Remove a NIC (live and saved on a running guest)", Out: api.NICChange{}},
		{Method: "GET", Path: "/api/v1/vms/:name/snapshots", Perm: perm("vm", "read"), Scope: guestScope("name"), Handle: s.listSnapshots,
			Summary: "The guest's snapshots as a tree (parents first, current marked) and which snapshots this guest can take here", Out: api.SnapshotList{}},
		{Method: "POST", Path: "/api/v1/vms/:name/snapshots", Perm: perm("vm", "snapshot"), Scope: guestScope("name"), Audit: "vm.snapshot.create", Handle: s.createSnapshot,
			Summary: "Take a snapshot (a task; with the memory of a running guest); 409 snapshot_uefi_unsupported, snapshot_disk_format_unsupported, snapshot_exists", In: api.SnapshotRequest{}, Out: api.Task{}, Status: 202},
		{Method: "POST", Path: "/api/v1/vms/:name/snapshots/:snap/revert", Perm: perm("vm", "snapshot"), Scope: guestScope("name"), Audit: "vm.snapshot.revert", Handle: s.revertSnapshot,
			Summary: "Revert the guest to a snapshot (a snapshot with memory resumes the running guest)", Out: api.VM{}, Timeout: 5 * time.Minute},
		{Method: "DELETE", Path: "/api/v1/vms/:name/snapshots/:snap", Perm: perm("vm", "snapshot"), Scope: guestScope("name"), Audit: "vm.snapshot.delete", Handle: s.deleteSnapshot,
			Summary: "Delete a snapshot (its children move to its parent)", Status: 204, Timeout: 5 * time.Minute},

		{Method: "GET", Path: "/api/v1/hosts/:host/devices", Perm: permHostDev, Scope: hostScope("host"), Handle: s.listHostDevices,
			Summary: "The host's PCI and USB devices with IOMMU group, driver and the guests passing each through (administrators)", Out: api.HostDeviceList{}},
		{Method: "GET", Path: "/api/v1/vms/:name/hostdevs", Perm: permHostDev, Scope: guestScope("name"), Handle: s.listGuestHostDevs,
			Summary: "The host devices passed through to the guest (administrators)", Out: api.GuestHostDevList{}},
		{Method: "POST", Path: "/api/v1/vms/:name/hostdevs", Perm: permHostDev, Scope: guestScope("name"), Audit: "vm.hostdev.attach", Handle: s.attachHostDev,
			Summary: "Pass a host PCI (VFIO; 409 iommu_off while the IOMMU is off) or USB device through to the guest, live and saved (administrators)", In: api.HostDevAttach{}, Out: api.HostDevChange{}, Status: 201},
		{Method: "DELETE", Path: "/api/v1/vms/:name/hostdevs/:dev", Perm: permHostDev, Scope: guestScope("name"), Audit: "vm.hostdev.detach", Handle: s.detachHostDev,
			Summary: "Give a passed-through device back to the host (administrators)", Out: api.HostDevChange{}},
		// Guest disks and CD-ROM media (issue 11): managers attach and
		// detach, operators change media, viewers read. Host paths: admins.
		{Method: "GET", Path: "/api/v1/vms/:name/disks", Perm: perm("vm", "read"), Scope: guestScope("name"), Handle: s.listDisks,
			Summary: "The guest's disks and CD-ROM drives with the pool volume behind each (host paths for administrators)", Out: api.GuestDiskList{}},
		{Method: "POST", Path: "/api/v1/vms/:name/disks", Perm: permVMEdit, Scope: guestScope("name"), Audit: "vm.disk.attach", Handle: s.attachDisk,
			Summary: "Attach a pool volume, a new volume (a task, 202) or a host path (administrators, inside storage.host_path_roots): live and saved on a running guest (virtio, SCSI, USB; 409 disk_bus_not_hotpluggable for IDE and SATA), 409 disk_ide_full, 409 volume_in_use", In: api.DiskAttach{}, Out: api.DiskChange{}},
		{Method: "DELETE", Path: "/api/v1/vms/:name/disks/:target", Perm: permVMEdit, Scope: guestScope("name"), Audit: "vm.disk.detach", Handle: s.detachDisk,
			Summary: "Detach a disk or CD-ROM drive, live and saved; delete_volume=true deletes its volume (refused while another guest uses it)", Out: api.DiskChange{},
			Query: []Param{{"delete_volume", "true: delete the volume too"}}},
		{Method: "PUT", Path: "/api/v1/vms/:name/disks/:target/media", Perm: permVMMedia, Scope: guestScope("name"), Audit: "vm.media.insert", Handle: s.insertMedia,
			Summary: "Insert an ISO of the library into a CD-ROM drive, live and saved", In: api.DiskMedia{}, Out: api.DiskChange{}},
		{Method: "DELETE", Path: "/api/v1/vms/:name/disks/:target/media", Perm: permVMMedia, Scope: guestScope("name"), Audit: "vm.media.eject", Handle: s.ejectMedia,
			Summary: "Eject a CD-ROM drive's medium, live and saved", Out: api.DiskChange{}},
		{Method: "GET", Path: "/api/v1/vms/:name/disk-choices", Perm: permVMEdit, Scope: guestScope("name"), Handle: s.diskChoices,
			Summary: "The pools and disk volumes the caller may attach to the guest", Out: api.DiskVolumeChoices{}},
		{Method: "GET", Path: "/api/v1/vms/:name/iso-choices", Perm: permVMMedia, Scope: guestScope("name"), Handle: s.isoChoices,
			Summary: "The ISOs the caller may insert into the guest's CD-ROM drives, with the OS detected", Out: api.DiskVolumeChoices{}},

		// Consoles: a one-time token for a guest, then the WebSocket, whose
		// guest comes from the token (its handler decides vm:console itself).
		{Method: "POST", Path: "/api/v1/vms/:name/console", Perm: perm("vm", "console"), Scope: guestScope("name"), Audit: "vm.console.token", Handle: s.consoleToken,
			Summary: "A one-time console ticket (VNC, serial) or a remote-viewer file (SPICE)", In: api.ConsoleRequest{}, Out: api.ConsoleTicket{}},
		{Method: "GET", Path: "/api/v1/console/ws", Perm: perm("session", "self"), Timeout: -1, Handle: s.consoleSocket,
			Summary: "The console WebSocket, opened with a ticket's token", Status: 101, Query: []Param{{"token", "the ticket's one-time token"}}},

		// API tokens (issue 8 §6): every signed-in caller manages their own;
		// the handlers let administrators (token:admin) see and revoke all.
		{Method: "POST", Path: "/api/v1/tokens", Perm: perm("session", "self"), Audit: "token.create", Handle: s.createToken,
			Summary: "Create a personal API token; its secret is in this answer only", In: api.TokenRequest{}, Out: api.NewToken{}, Status: 201},
		{Method: "GET", Path: "/api/v1/tokens", Perm: perm("session", "self"), Handle: s.listTokens,
			Summary: "List the caller's API tokens (?all=true: everyone's, for administrators)", Out: api.TokenList{}},
		{Method: "DELETE", Path: "/api/v1/tokens/:id", Perm: perm("session", "self"), Scope: tokenScope("id"), Audit: "token.revoke", Handle: s.revokeToken,
			Summary: "Revoke an API token (the caller's own; any, for administrators)", Status: 204},

		// Tasks and the event stream (issue 8 §1). A task of someone else is
		// a 404 unless the caller sees all tasks (task:read_all); cancelling
		// another's task needs task:cancel_all.
		{Method: "GET", Path: "/api/v1/tasks", Perm: perm("task", "read"), Handle: s.listTasks,
			Summary: "List tasks: the caller's own, everyone's for admins and auditors (?status=&kind=&target=&owner=&limit=&cursor=)", Out: api.TaskList{}},
		{Method: "GET", Path: "/api/v1/tasks/:id", Perm: perm("task", "read"), Scope: taskScope("id"), Handle: s.getTask,
			Summary: "One task with its progress, result or error", Out: api.Task{}},
		{Method: "DELETE", Path: "/api/v1/tasks/:id", Perm: perm("task", "cancel"), Scope: taskScope("id"), Audit: "task.cancel", Handle: s.cancelTask,
			Summary: "Cancel a queued or running task (409 once it has ended)", Out: api.Task{}},
		{Method: "GET", Path: "/api/v1/events", Perm: perm("session", "self"), Handle: s.events, Timeout: -1,
			Summary: "Server-sent events: task changes and guest changes the caller may see; Last-Event-ID resumes", Out: Body{MediaType: "text/event-stream"}},

		// Storage (issue 9, first slice): a host's pools and their volumes.
		// Callers who may not read pools get 404 for pools and volumes.
		{Method: "GET", Path: "/api/v1/hosts/:host/pools", Perm: perm("pool", "list"), Scope: hostScope("host"), Handle: s.listPools,
			Summary: "The host's storage pools with capacity, allocation and free space (paths for administrators)", Out: api.PoolList{}},
		{Method: "POST", Path: "/api/v1/hosts/:host/pools", Perm: permPoolManage, Scope: hostScope("host"), Audit: "pool.define", Handle: s.definePool,
			Summary: "Define, build where the type needs it, and start a pool (dir, fs, netfs, logical, iscsi, scsi, disk); a failure leaves nothing", In: api.PoolRequest{}, Out: api.Pool{}, Status: 201},
		{Method: "GET", Path: "/api/v1/hosts/:host/pools/:pool", Perm: permPoolRead, Scope: poolScope("pool"), Handle: s.getPool,
			Summary: "One storage pool", Out: api.Pool{}},
		{Method: "DELETE", Path: "/api/v1/hosts/:host/pools/:pool", Perm: permPoolManage, Scope: poolScope("pool"), Audit: "pool.delete", Handle: s.deletePool,
			Summary: "Undefine a stopped pool no guest uses (its folder and volumes stay on disk)", Status: 204},
		{Method: "POST", Path: "/api/v1/hosts/:host/pools/:pool/start", Perm: permPoolManage, Scope: poolScope("pool"), Audit: "pool.start", Handle: s.poolAction("start"),
			Summary: "Start a pool", Out: api.Pool{}},
		{Method: "POST", Path: "/api/v1/hosts/:host/pools/:pool/stop", Perm: permPoolManage, Scope: poolScope("pool"), Audit: "pool.stop", Handle: s.poolAction("stop"),
			Summary: "Stop a pool (refused while running guests use its volumes)", Out: api.Pool{}},
		{Method: "POST", Path: "/api/v1/hosts/:host/pools/:pool/refresh", Perm: permPoolManage, Scope: poolScope("pool"), Audit: "pool.refresh", Handle: s.poolAction("refresh"),
			Summary: "Rescan a pool's volumes", Out: api.Pool{}},
		{Method: "PUT", Path: "/api/v1/hosts/:host/pools/:pool/autostart", Perm: permPoolManage, Scope: poolScope("pool"), Audit: "pool.autostart", Handle: s.setPoolAutostart,
			Summary: "Set whether the pool starts with the host", In: api.Autostart{}, Out: api.Pool{}},
		{Method: "GET", Path: "/api/v1/hosts/:host/pools/:pool/volumes", Perm: perm("volume", "read"), Scope: poolScope("pool"), Handle: s.listVolumes,
			Summary: "A running pool's volumes with the guests using each", Out: api.VolumeList{}},
		{Method: "POST", Path: "/api/v1/hosts/:host/pools/:pool/volumes", Perm: perm("volume", "manage"), Scope: poolScope("pool"), Audit: "volume.create", Handle: s.createVolume,
			Summary: "Create a volume (qcow2 or raw, thin unless thick): a task", In: api.VolumeRequest{}, Out: api.Task{}, Status: 202},
		{Method: "GET", Path: "/api/v1/hosts/:host/pools/:pool/volumes/:vol", Perm: perm("volume", "read"), Scope: volumeScope("vol"), Handle: s.getVolume,
			Summary: "One volume with the guests using it", Out: api.Volume{}},
		{Method: "DELETE", Path: "/api/v1/hosts/:host/pools/:pool/volumes/:vol", Perm: perm("volume", "manage"), Scope: volumeScope("vol"), Audit: "volume.delete", Handle: s.deleteVolume,
			Summary: "Delete a volume no guest uses", Status: 204},
		{Method: "POST", Path: "/api/v1/hosts/:host/pools/:pool/volumes/:vol/resize", Perm: perm("volume", "manage"), Scope: volumeScope("vol"), Audit: "volume.resize", Handle: s.resizeVolume,
			Summary: "Grow a volume no running guest uses", In: api.VolumeResize{}, Out: api.Volume{}},

		// Volume operations (issue 9): clone, wipe and download from a URL,
		// each a task (202 with its URL). From a URL: administrators only.
		{Method: "POST", Path: "/api/v1/hosts/:host/pools/:pool/volumes/:vol/clone", Perm: perm("volume", "manage"), Scope: volumeScope("vol"), Audit: "volume.clone", Handle: s.cloneVolume,
			Summary: "Copy a volume within its pool or into another running pool (format kept unless given): a task with byte progress; cancel deletes the copy once libvirt's copy ends", In: api.VolumeClone{}, Out: api.Task{}, Status: 202},
		{Method: "POST", Path: "/api/v1/hosts/:host/pools/:pool/volumes/:vol/wipe", Perm: perm("volume", "manage"), Scope: volumeScope("vol"), Audit: "volume.wipe", Handle: s.wipeVolume,
			Summary: "Overwrite a volume no running guest uses with zeros: a task (501 volume_wipe_not_supported where the driver cannot wipe)", Out: api.Task{}, Status: 202},
		{Method: "POST", Path: "/api/v1/hosts/:host/pools/:pool/volumes/from-url", Perm: permPoolManage, Scope: poolScope("pool"), Audit: "volume.from_url", Handle: s.volumeFromURL,
			Summary: "Download an http or https file into a new volume: a task with byte progress and cancel (loopback, private and link-local addresses refused unless configured)", In: api.VolumeFromURL{}, Out: api.Task{}, Status: 202},

		// The ISO library and OS detection (issue 9): admins and auditors
		// (volume:read); users get 404 for the volume and 403 for the library.
		{Method: "GET", Path: "/api/v1/hosts/:host/pools/:pool/volumes/:vol/os", Perm: perm("volume", "read"), Scope: volumeScope("vol"), Handle: s.volumeOS,
			Summary: "The operating system the volume's ISO 9660 descriptor names (501 volume_read_not_supported where the driver has no volume contents)", Out: api.VolumeOS{}},
		{Method: "GET", Path: "/api/v1/hosts/:host/isos", Perm: perm("volume", "read"), Scope: hostScope("host"), Handle: s.listISOs,
			Summary: "The ISO library: every .iso volume of every running pool with the operating system detected", Out: api.ISOList{}},

		// Uploads (issue 9): resumable uploads into new volumes (tus 1.0.0:
		// creation and termination) and volume downloads; administrators.
		// PATCH bodies are the upload's chunks: no body limit (tusd bounds
		// them by the upload's length) and no timeout (tusd moves the read
		// deadline while bytes arrive). HEAD is answered by the GET line.
		{Method: "POST", Path: "/api/v1/hosts/:host/pools/:pool/uploads", Perm: perm("volume", "manage"), Scope: poolScope("pool"), Audit: "volume.upload", Handle: s.createUpload,
			Summary: "tus creation: Upload-Length and Upload-Metadata (name, format raw|qcow2|iso); checks the size against the limit and the pool's free space, then creates the volume", Out: api.Upload{}, Status: 201},
		{Method: "GET", Path: "/api/v1/hosts/:host/pools/:pool/uploads/:upload", Perm: perm("volume", "manage"), Scope: uploadScope("upload"), Handle: s.headUpload,
			Summary: "tus HEAD (and GET): Upload-Offset and Upload-Length headers, the upload as JSON", Out: api.Upload{}},
		{Method: "PATCH", Path: "/api/v1/hosts/:host/pools/:pool/uploads/:upload", Perm: perm("volume", "manage"), Scope: uploadScope("upload"), Audit: "volume.upload.complete", Handle: s.patchUpload,
			Summary: "tus PATCH: one chunk at Upload-Offset (application/offset+octet-stream); audited when it completes the upload", In: Body{MediaType: "application/offset+octet-stream"}, Status: 204, BodyLimit: -1, Timeout: -1},
		{Method: "DELETE", Path: "/api/v1/hosts/:host/pools/:pool/uploads/:upload", Perm: perm("volume", "manage"), Scope: uploadScope("upload"), Audit: "volume.upload.cancel", Handle: s.deleteUpload,
			Summary: "tus termination: cancel an upload and delete its partial volume", Status: 204},
		{Method: "GET", Path: "/api/v1/hosts/:host/uploads", Perm: perm("volume", "manage"), Scope: hostScope("host"), Handle: s.listUploads,
			Summary: "The host's unfinished uploads (to resume or cancel), with the size limit", Out: api.UploadList{}},
		{Method: "GET", Path: "/api/v1/hosts/:host/pools/:pool/volumes/:vol/content", Perm: perm("volume", "manage"), Scope: volumeScope("vol"), Handle: s.volumeContent,
			Summary: "Download a volume's contents through libvirt (one Range: 206; 416 outside; 501 volume_download_not_supported on the test driver)", Out: Body{MediaType: "application/octet-stream"}, Timeout: -1},

		// Networks (issue 9): a host's virtual networks and interfaces.
		// Callers who may not read networks get 404 for a network.
		{Method: "GET", Path: "/api/v1/hosts/:host/networks", Perm: perm("network", "list"), Scope: hostScope("host"), Handle: s.listNetworks,
			Summary: "The host's networks with kind, state, subnet and the guests using each (users: names of their guests' networks)", Out: api.NetworkList{}},
		{Method: "POST", Path: "/api/v1/hosts/:host/networks", Perm: permNetManage, Scope: hostScope("host"), Audit: "network.create", Handle: s.createNetwork,
			Summary: "Define and start a network (nat, isolated, routed, bridge, direct); a free /24 when a nat or isolated one has no subnet", In: api.NetworkRequest{}, Out: api.Network{}, Status: 201},
		{Method: "GET", Path: "/api/v1/hosts/:host/networks/free-subnet", Perm: permNetManage, Scope: hostScope("host"), Handle: s.freeSubnet,
			Summary: "A /24 clear of the host's routes and every network, with its gateway and DHCP range", Out: api.FreeSubnet{}},
		{Method: "GET", Path: "/api/v1/hosts/:host/networks/:net", Perm: permNetRead, Scope: networkScope("net"), Handle: s.getNetwork,
			Summary: "One network", Out: api.Network{}},
		{Method: "DELETE", Path: "/api/v1/hosts/:host/networks/:net", Perm: permNetManage, Scope: networkScope("net"), Audit: "network.delete", Handle: s.deleteNetwork,
			Summary: "Stop and undefine a network no guest uses", Status: 204},
		{Method: "POST", Path: "/api/v1/hosts/:host/networks/:net/start", Perm: permNetManage, Scope: networkScope("net"), Audit: "network.start", Handle: s.networkAction("start"),
			Summary: "Start a network", Out: api.Network{}},
		{Method: "POST", Path: "/api/v1/hosts/:host/networks/:net/stop", Perm: permNetManage, Scope: networkScope("net"), Audit: "network.stop", Handle: s.networkAction("stop"),
			Summary: "Stop a network (refused while running guests use it)", Out: api.Network{}},
		{Method: "PUT", Path: "/api/v1/hosts/:host/networks/:net/autostart", Perm: permNetManage, Scope: networkScope("net"), Audit: "network.autostart", Handle: s.setNetworkAutostart,
			Summary: "Set whether the network starts with the host", In: api.Autostart{}, Out: api.Network{}},
		{Method: "GET", Path: "/api/v1/hosts/:host/networks/:net/leases", Perm: permNetRead, Scope: networkScope("net"), Handle: s.networkLeases,
			Summary: "The network's DHCP leases with the guest owning each MAC (501 leases_not_supported where the driver keeps none)", Out: api.LeaseList{}},
		{Method: "GET", Path: "/api/v1/hosts/:host/interfaces", Perm: permNetManage, Scope: hostScope("host"), Handle: s.hostInterfaces,
			Summary: "The host's network interfaces (ethernet, bridge, bond, vlan) with their state", Out: api.HostInterfaceList{}},

		// Templates (issue 10): administrators manage them; those who may
		// read templates (the roles that create guests) list and read them.
		// A template is listed with its problems (a pool, network or
		// volume gone); OS defaults and the OS search feed the form.
		{Method: "GET", Path: "/api/v1/templates", Perm: permTemplateRead, Handle: s.listTemplates,
			Summary: "The host's templates, each with its problems (an empty list: usable)", Out: api.TemplateList{}},
		{Method: "POST", Path: "/api/v1/templates", Perm: permTemplateManage, Audit: "template.create", Handle: s.createTemplate,
			Summary: "Create a template (validated against the host: sizes, topology, firmware; graphics beyond 127.0.0.1 for administrators)", In: api.Template{}, Out: api.Template{}, Status: 201, BodyLimit: 256 << 10},
		{Method: "GET", Path: "/api/v1/templates/:id", Perm: permTemplateRead, Scope: templateScope("id"), Handle: s.getTemplate,
			Summary: "One template with its problems", Out: api.Template{}},
		{Method: "PUT", Path: "/api/v1/templates/:id", Perm: permTemplateManage, Scope: templateScope("id"), Audit: "template.update", Handle: s.putTemplate,
			Summary: "Replace a template (guests made from it do not change)", In: api.Template{}, Out: api.Template{}, BodyLimit: 256 << 10},
		{Method: "DELETE", Path: "/api/v1/templates/:id", Perm: permTemplateManage, Scope: templateScope("id"), Audit: "template.delete", Handle: s.deleteTemplate,
			Summary: "Delete a template (guests made from it stay)", Status: 204},
		{Method: "POST", Path: "/api/v1/templates/:id/copy", Perm: permTemplateManage, Scope: templateScope("id"), Audit: "template.copy", Handle: s.copyTemplate,
			Summary: "Copy a template (name: <name>-copy unless given)", In: api.TemplateCopy{}, Out: api.Template{}, Status: 201},
		{Method: "GET", Path: "/api/v1/hosts/:host/os-defaults", Perm: permTemplateRead, Scope: hostScope("host"), Handle: s.osDefaults,
			Summary: "The devices, firmware and sizes osinfo recommends for an OS on this host (the generic profile when unknown), with the host's limits", Out: api.OSDefaults{},
			Query: []Param{{"os", "osinfo id or short id, e.g. debian12"}}},
		{Method: "GET", Path: "/api/v1/os", Perm: permTemplateRead, Handle: s.searchOS,
			Summary: "Operating systems from osinfo whose short id or name contains q (at most 20)", Out: api.OSList{},
			Query: []Param{{"q", "part of a short id or name"}}},

		// Version and statistics (issue 12): host statistics need host:read,
		// a guest's need vm:read on it.
		{Method: "GET", Path: "/api/v1/version", Perm: public, Handle: s.version,
			Summary: "The portal's version, commit and API version; with a session also libvirt's and QEMU's", Out: api.Version{}},
		{Method: "GET", Path: "/api/v1/hosts/:host/stats", Perm: perm("host", "read"), Scope: hostScope("host"), Handle: s.hostStats,
			Summary: "The host's latest 1 s sample: CPU, memory, disks, network per physical interface (available: false when the host is remote)", Out: api.StatsNow{}},
		{Method: "GET", Path: "/api/v1/hosts/:host/stats/history", Perm: perm("host", "read"), Scope: hostScope("host"), Handle: s.hostStatsHistory,
			Summary: "The host's statistics over time: min, mean and max per step; 422 stats_bad_query or stats_too_many_points naming the field", Out: api.StatsHistory{}, Query: statsQuery},
		{Method: "GET", Path: "/api/v1/vms/:name/stats", Perm: perm("vm", "read"), Scope: guestScope("name"), Handle: s.vmStats,
			Summary: "The guest's latest sample (available: false when it is off or reports no usage)", Out: api.StatsNow{}},
		{Method: "GET", Path: "/api/v1/vms/:name/stats/history", Perm: perm("vm", "read"), Scope: guestScope("name"), Handle: s.vmStatsHistory,
			Summary: "The guest's statistics over time, kept by its UUID (a rename keeps it): min, mean and max per step", Out: api.StatsHistory{}, Query: statsQuery},
		{Method: "GET", Path: "/metrics", Perm: permMetrics, Handle: s.metricsPage,
			Summary: "Prometheus metrics (text exposition): HTTP and libvirt latencies, guests, sessions, consoles, tasks, uploads, login failures", Out: Body{MediaType: "text/plain"}},
	}
	for _, a := range api.VMActions {
		rs = append(rs, Route{Method: "POST", Path: "/api/v1/vms/:name/" + a, Perm: perm("vm", "power"), Scope: guestScope("name"),
			Audit: "vm." + a, Handle: s.vmAction(a), Summary: "Power action: " + a, Out: api.VM{}})
	}
	// The browser app's pages: the shell is public, the app asks for a session.
	for _, p := range []string{"/", "/guests", "/guests/:name", "/templates", "/storage", "/networks", "/host", "/hosts", "/hosts/:host", "/audit", "/account"} {
		rs = append(rs, Route{Method: "GET", Path: p, Perm: public, Handle: s.appPage, Summary: "The browser app", Out: htmlPage})
	}
	rs = append(rs, Route{Method: "GET", Path: "/login", Perm: public, Handle: s.loginPage, Summary: "The login page", Out: htmlPage})
	return rs
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// register adds the routes to Gin, refusing any that would fail open.
func (s *Server) register(e *gin.Engine, rs []Route) error {
	for _, rt := range rs {
		switch {
		case rt.Perm.IsZero():
			return fmt.Errorf("handlers: route %s %s has no permission", rt.Method, rt.Path)
		case rt.Handle == nil:
			return fmt.Errorf("handlers: route %s %s has no handler", rt.Method, rt.Path)
		case unsafeMethod(rt.Method) && rt.Audit == "":
			return fmt.Errorf("handlers: unsafe route %s %s has no audit action", rt.Method, rt.Path)
		}
		if err := s.checkScope(rt); err != nil {
			return err
		}
		e.Handle(rt.Method, rt.Path, s.chain(rt))
	}
	return nil
}

func hasParam(path, name string) bool {
	for i := 0; i+len(name)+1 <= len(path); i++ {
		if path[i] == ':' && path[i+1:i+1+len(name)] == name && (i+1+len(name) == len(path) || path[i+1+len(name)] == '/') {
			return true
		}
	}
	return false
}
