// zh-CN: the help button and dialog (ui/help.js); the pages are in static/src/help.

export default {
  'help.open': '本页帮助',
  'help.button': '帮助',
  'help.close': '关闭',
};
