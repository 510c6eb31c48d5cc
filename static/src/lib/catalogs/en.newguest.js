// en: the New guest dialog on the Guests page (issue 10), spread into en.js.

export default {
  'newguest.open': 'New guest',
  'newguest.title': 'New guest',
  'newguest.accept': 'Create',
  'newguest.template': 'Template',
  'newguest.unusable': '{name} (cannot be used: {reason})',
  'newguest.none': 'There are no templates yet; an administrator makes them on the Templates page.',
  'newguest.noTemplate': 'Choose a template that can be used.',
  'newguest.name': 'Name',
  'newguest.nameHint': 'Letters, digits, dot, dash and underscore; it must be free on the host.',
  'newguest.vcpus': 'vCPUs',
  'newguest.vcpusInvalid': 'Enter a whole number of vCPUs, at least 1.',
  'newguest.memory': 'Memory (MiB)',
  'newguest.memoryInvalid': 'Enter the memory in MiB, at least 16.',
  'newguest.start': 'Start the guest once it is created',
  'tasks.kind.vm.create': 'Create {target}',
  'error.code.guest_exists': 'A guest of this name exists on the host already. Choose another name.',
  'error.code.guest_name_busy': 'Another creation is making a guest of this name right now. Choose another name.',
  'error.code.templates_unavailable': 'Templates are not available on this server.',
};
