// en: "Import a disk" in the New guest dialog (issue 10), spread into en.js.

export default {
  'importdisk.mode': 'Start from',
  'importdisk.modeTemplate': 'A template',
  'importdisk.modeImport': 'Import a disk',
  'importdisk.pool': 'Pool',
  'importdisk.volume': 'Disk image or ISO (used in place)',
  'importdisk.os': 'Operating system',
  'importdisk.osHint': 'Search by name; left empty, an ISO is recognised and any other disk gets generic devices.',
  'importdisk.network': 'Network',
  'importdisk.noNetwork': 'No network',
  'importdisk.noVolume': 'Choose a pool and a volume no guest uses.',
};
