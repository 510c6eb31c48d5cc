// zh-CN: 新建虚拟机对话框中的“导入磁盘”(issue 10),展开到 zh-CN.js。

export default {
  'importdisk.mode': '创建方式',
  'importdisk.modeTemplate': '从模板',
  'importdisk.modeImport': '导入磁盘',
  'importdisk.pool': '存储池',
  'importdisk.volume': '磁盘镜像或 ISO(就地使用)',
  'importdisk.os': '操作系统',
  'importdisk.osHint': '按名称搜索;留空时会识别 ISO,其他磁盘使用通用设备。',
  'importdisk.network': '网络',
  'importdisk.noNetwork': '无网络',
  'importdisk.noVolume': '请选择一个存储池和一个未被任何虚拟机使用的卷。',
};
