// pt-BR: the help button and dialog (ui/help.js); the pages are in static/src/help.

export default {
  'help.open': 'Ajuda desta página',
  'help.button': 'Ajuda',
  'help.close': 'Fechar',
};
