// pt-BR: o diálogo Novo convidado da página Convidados (issue 10), espalhado em pt-BR.js.

export default {
  'newguest.open': 'Novo convidado',
  'newguest.title': 'Novo convidado',
  'newguest.accept': 'Criar',
  'newguest.template': 'Modelo',
  'newguest.unusable': '{name} (não pode ser usado: {reason})',
  'newguest.none': 'Ainda não há modelos; um administrador os cria na página Modelos.',
  'newguest.noTemplate': 'Escolha um modelo que possa ser usado.',
  'newguest.name': 'Nome',
  'newguest.nameHint': 'Letras, dígitos, ponto, hífen e sublinhado; deve estar livre no host.',
  'newguest.vcpus': 'vCPUs',
  'newguest.vcpusInvalid': 'Informe um número inteiro de vCPUs, no mínimo 1.',
  'newguest.memory': 'Memória (MiB)',
  'newguest.memoryInvalid': 'Informe a memória em MiB, no mínimo 16.',
  'newguest.start': 'Iniciar o convidado assim que for criado',
  'tasks.kind.vm.create': 'Criar {target}',
  'error.code.guest_exists': 'Já existe um convidado com esse nome no host. Escolha outro nome.',
  'error.code.guest_name_busy': 'Outra criação está fazendo um convidado com esse nome agora. Escolha outro nome.',
  'error.code.templates_unavailable': 'Os modelos não estão disponíveis neste servidor.',
};
