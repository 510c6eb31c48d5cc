// en: the help button and dialog (ui/help.js); the pages are in static/src/help.

export default {
  'help.open': 'Help for this page',
  'help.button': 'Help',
  'help.close': 'Close',
};
