// pt-BR: "Importar um disco" no diálogo Novo convidado (issue 10), espalhado em pt-BR.js.

export default {
  'importdisk.mode': 'Começar de',
  'importdisk.modeTemplate': 'Um modelo',
  'importdisk.modeImport': 'Importar um disco',
  'importdisk.pool': 'Pool',
  'importdisk.volume': 'Imagem de disco ou ISO (usada no lugar)',
  'importdisk.os': 'Sistema operacional',
  'importdisk.osHint': 'Pesquise pelo nome; se vazio, uma ISO é reconhecida e qualquer outro disco recebe dispositivos genéricos.',
  'importdisk.network': 'Rede',
  'importdisk.noNetwork': 'Sem rede',
  'importdisk.noVolume': 'Escolha um pool e um volume que nenhum convidado usa.',
};
