// Help pages in English: one per area of the portal, opened from the help
// button on its page. Every language has the same areas and the same blocks
// in the same order (help.test.js checks), so translations cannot drift.
// A block is a paragraph (a string), a heading ({h}) or a list ({ul}).

/** @type {import('./index.js').HelpBook} */
export default {
  guests: {
    title: 'Guests',
    body: [
      'The Guests page lists the virtual machines you may see: administrators and auditors see all of them, everyone else the guests shared with them or with one of their groups. The list follows changes as they happen; search, filter by state and sort it from the toolbar.',
      { h: 'Power' },
      { ul: [
        'Start, Shut down (asks the guest’s operating system), Reboot, Pause and Resume, and Power off (pulls the plug: unsaved work in the guest is lost).',
        'A button is offered only when your role on the guest allows it and the guest’s state makes sense for it.',
      ] },
      { h: 'New guests' },
      'New guest creates a guest from a template, with your choice of name, processors, memory and disk size; cloud-init can set its user, SSH key and host name. Import a disk makes a guest around a disk that is already in a pool. Clone copies a shut-off guest with its disks. Each runs as a task in the tasks drawer, where you follow its progress or cancel it; a failed or cancelled task leaves nothing behind.',
      { h: 'A guest’s page' },
      'Its tabs show what your role allows: the overview with usage, processor and memory, disks and CD media, network interfaces, snapshots, devices, who has access, and the console. A change that the guest can take while it runs is applied at once; one that needs a restart says “next boot”.',
    ],
  },
  templates: {
    title: 'Templates',
    body: [
      'A template is the recipe of a new guest: the operating system, processors, memory, disks (a fresh disk, a copy of a base image, or a linked clone of it), network interfaces, firmware and an optional cloud-init configuration.',
      { ul: [
        'The operating system comes from the osinfo database, which picks the devices the guest supports (virtio or not) and the recommended sizes.',
        'A template whose image or network is gone is marked invalid, with the reason, and cannot be used until it is fixed.',
        'Administrators create, edit and delete templates; people who may create guests see them in the New guest dialog.',
      ] },
    ],
  },
  storage: {
    title: 'Storage',
    body: [
      'Storage pools hold the guests’ disks and the installation images. Choose a pool on the left to see its volumes, with the guests using each.',
      { h: 'Pools' },
      'New pool defines a folder, a file system, an NFS share, an LVM volume group, an iSCSI target, SCSI adapter or a whole disk. Building never overwrites data. A pool that guests use cannot be stopped or deleted; the refusal names them.',
      { h: 'Volumes' },
      { ul: [
        'Create, grow, clone, wipe, download and delete volumes from each row’s menu. A volume in use cannot be deleted or wiped while its guest runs.',
        'Drop files on the page, or choose them, to upload: the upload survives a dropped connection, a reloaded page and a restarted server. Choose the same file again to continue where it stopped.',
        'From a URL downloads an image on the host itself; addresses inside your network are refused unless an administrator allows them.',
        'Images that name other files (a qcow2 with a backing file, a VMDK) are refused: a guest using them could read files it should not.',
      ] },
      { h: 'The ISO library' },
      'Every ISO image in every pool is listed with the operating system detected from it, ready for a template or a CD drive.',
    ],
  },
  networks: {
    title: 'Networks',
    body: [
      'Virtual networks connect guests to each other, to the host and to the outside.',
      { ul: [
        'NAT: guests reach out through the host; a free subnet is chosen for you, with DHCP.',
        'Isolated: guests and the host only. Routed: a subnet the host routes without translation.',
        'Bridge: guests appear on the host’s own bridge, as machines of the physical network. Direct (macvtap): guests share a host interface.',
      ] },
      'Each network shows its DHCP leases with the guest owning each address. A network that guests use cannot be stopped or deleted; the refusal names them.',
    ],
  },
  host: {
    title: 'Host',
    body: [
      'The Host page describes the machine running the guests: its processor and memory, the versions of libvirt and QEMU, whether KVM and the IOMMU are available, and the machine types guests can use.',
      'The charts show the host’s processor, memory, disk and network use for the last hour, second by second, and for the last seven days, minute by minute. Each guest’s page has the same charts for the guest.',
      'Monitoring systems read the same figures as Prometheus metrics with an API token that has the metrics permission.',
    ],
  },
  access: {
    title: 'Access',
    body: [
      'Administrators share each guest with people and groups from the login realms (system accounts, the directory, local accounts), each with a role:',
      { ul: [
        'Viewer: sees the guest, its state and its usage.',
        'Operator: also powers it on and off, uses its console and changes its CD media.',
        'Manager: also changes the guest: processors, memory, disks, network interfaces and snapshots.',
      ] },
      'A group’s role applies to each of its members, and someone with several grants gets the strongest. The grants are kept in the guest’s own definition, so they travel with it. Every change is in the audit log.',
    ],
  },
  console: {
    title: 'Console',
    body: [
      'The console shows the guest’s screen (VNC or SPICE) or its serial console in the browser, nothing to install.',
      { ul: [
        'Keys go to the guest while its screen has the focus; Shift+F12 gives the keyboard back to the page.',
        'Ctrl+Alt+Del sends that combination to the guest; Type text types a text for you, where pasting does not work.',
        'The connection uses a one-time token that works once, for a few seconds, for you only. It closes when your access is revoked, you log out, or it stays idle too long.',
      ] },
      'Operators and managers of a guest may use its console; administrators too.',
    ],
  },
};
