// zh-CN：客户机页面的“新建客户机”对话框（issue 10），展开到 zh-CN.js。

export default {
  'newguest.open': '新建客户机',
  'newguest.title': '新建客户机',
  'newguest.accept': '创建',
  'newguest.template': '模板',
  'newguest.unusable': '{name}（无法使用：{reason}）',
  'newguest.none': '还没有模板；管理员可在“模板”页面创建。',
  'newguest.noTemplate': '请选择一个可用的模板。',
  'newguest.name': '名称',
  'newguest.nameHint': '字母、数字、点、短横线和下划线；在主机上必须未被使用。',
  'newguest.vcpus': 'vCPU',
  'newguest.vcpusInvalid': '请输入整数个 vCPU，至少为 1。',
  'newguest.memory': '内存 (MiB)',
  'newguest.memoryInvalid': '请输入以 MiB 为单位的内存，至少为 16。',
  'newguest.start': '创建后启动客户机',
  'tasks.kind.vm.create': '创建 {target}',
  'error.code.guest_exists': '主机上已存在同名的客户机。请换一个名称。',
  'error.code.guest_name_busy': '另一个创建任务正在创建同名的客户机。请换一个名称。',
  'error.code.templates_unavailable': '此服务器上没有可用的模板。',
};
