// Páginas de ajuda em português do Brasil: os mesmos blocos, na mesma ordem,
// que en.js (help.test.js confere).

/** @type {import('./index.js').HelpBook} */
export default {
  guests: {
    title: 'Máquinas virtuais',
    body: [
      'A página de máquinas virtuais lista as que você pode ver: administradores e auditores veem todas; os demais, as compartilhadas com você ou com um dos seus grupos. A lista acompanha as mudanças no momento em que acontecem; pesquise, filtre por estado e ordene pela barra de ferramentas.',
      { h: 'Energia' },
      { ul: [
        'Iniciar, Desligar (pede ao sistema operacional da máquina), Reiniciar, Pausar e Retomar, e Forçar desligamento (corta a energia: o que não foi salvo na máquina se perde).',
        'Um botão só aparece quando o seu papel na máquina permite e quando o estado dela faz sentido para ele.',
      ] },
      { h: 'Novas máquinas' },
      'Novo convidado cria uma máquina a partir de um modelo, com o nome, os processadores, a memória e o tamanho de disco que você escolher; o cloud-init pode definir o usuário, a chave SSH e o nome do host. Importar um disco cria uma máquina em torno de um disco que já está em um pool. Clonar copia uma máquina desligada com seus discos. Cada uma roda como tarefa na gaveta de tarefas, onde você acompanha o progresso ou cancela; uma tarefa que falha ou é cancelada não deixa nada para trás.',
      { h: 'A página de uma máquina' },
      'As abas mostram o que o seu papel permite: a visão geral com o uso, processador e memória, discos e mídia de CD, interfaces de rede, snapshots, dispositivos, quem tem acesso e o console. Uma mudança que a máquina aceita enquanto roda é aplicada na hora; uma que precisa de reinício diz “na próxima inicialização”.',
    ],
  },
  templates: {
    title: 'Modelos',
    body: [
      'Um modelo é a receita de uma nova máquina: o sistema operacional, processadores, memória, discos (um disco novo, uma cópia de uma imagem base ou um clone vinculado a ela), interfaces de rede, firmware e uma configuração cloud-init opcional.',
      { ul: [
        'O sistema operacional vem do banco de dados osinfo, que escolhe os dispositivos que a máquina suporta (virtio ou não) e os tamanhos recomendados.',
        'Um modelo cuja imagem ou rede sumiu fica marcado como inválido, com o motivo, e não pode ser usado até ser corrigido.',
        'Administradores criam, editam e excluem modelos; quem pode criar máquinas os vê no diálogo Novo convidado.',
      ] },
    ],
  },
  storage: {
    title: 'Armazenamento',
    body: [
      'Os pools de armazenamento guardam os discos das máquinas e as imagens de instalação. Escolha um pool à esquerda para ver seus volumes, com as máquinas que usam cada um.',
      { h: 'Pools' },
      'Novo pool define uma pasta, um sistema de arquivos, um compartilhamento NFS, um grupo de volumes LVM, um alvo iSCSI, um adaptador SCSI ou um disco inteiro. A construção nunca sobrescreve dados. Um pool usado por máquinas não pode ser parado nem excluído; a recusa diz quais são.',
      { h: 'Volumes' },
      { ul: [
        'Crie, aumente, clone, apague com segurança, baixe e exclua volumes pelo menu de cada linha. Um volume em uso não pode ser excluído, nem apagado enquanto a máquina roda.',
        'Solte arquivos na página, ou escolha-os, para enviar: o envio sobrevive a uma conexão perdida, a uma página recarregada e a um servidor reiniciado. Escolha o mesmo arquivo de novo para continuar de onde parou.',
        'De uma URL baixa uma imagem no próprio host; endereços dentro da sua rede são recusados, a menos que um administrador os permita.',
        'Imagens que citam outros arquivos (um qcow2 com arquivo de base, um VMDK) são recusadas: uma máquina que as usasse poderia ler arquivos que não deve.',
      ] },
      { h: 'A biblioteca de ISOs' },
      'Toda imagem ISO de todos os pools aparece com o sistema operacional detectado nela, pronta para um modelo ou uma unidade de CD.',
    ],
  },
  networks: {
    title: 'Redes',
    body: [
      'As redes virtuais ligam as máquinas entre si, ao host e ao mundo lá fora.',
      { ul: [
        'NAT: as máquinas saem pelo host; uma sub-rede livre é escolhida para você, com DHCP.',
        'Isolada: só as máquinas e o host. Roteada: uma sub-rede que o host roteia sem tradução.',
        'Ponte: as máquinas aparecem na ponte do próprio host, como computadores da rede física. Direta (macvtap): as máquinas compartilham uma interface do host.',
      ] },
      'Cada rede mostra suas concessões DHCP com a máquina dona de cada endereço. Uma rede usada por máquinas não pode ser parada nem excluída; a recusa diz quais são.',
    ],
  },
  host: {
    title: 'Host',
    body: [
      'A página do host descreve o computador que roda as máquinas: processador e memória, as versões do libvirt e do QEMU, se o KVM e a IOMMU estão disponíveis e os tipos de máquina que as máquinas podem usar.',
      'Os gráficos mostram o uso de processador, memória, disco e rede do host na última hora, segundo a segundo, e nos últimos sete dias, minuto a minuto. A página de cada máquina tem os mesmos gráficos para ela.',
      'Sistemas de monitoramento leem os mesmos números como métricas do Prometheus, com um token de API que tenha a permissão de métricas.',
    ],
  },
  access: {
    title: 'Acesso',
    body: [
      'Administradores compartilham cada máquina com pessoas e grupos dos domínios de login (contas do sistema, o diretório, contas locais), cada um com um papel:',
      { ul: [
        'Observador: vê a máquina, seu estado e seu uso.',
        'Operador: também liga e desliga, usa o console e troca a mídia de CD.',
        'Gerente: também altera a máquina: processadores, memória, discos, interfaces de rede e snapshots.',
      ] },
      'O papel de um grupo vale para cada um dos seus membros, e quem tem várias concessões fica com a mais forte. As concessões ficam guardadas na própria definição da máquina e viajam com ela. Toda mudança fica no registro de auditoria.',
    ],
  },
  console: {
    title: 'Console',
    body: [
      'O console mostra a tela da máquina (VNC ou SPICE) ou o console serial no navegador, sem nada para instalar.',
      { ul: [
        'As teclas vão para a máquina enquanto a tela dela tem o foco; Shift+F12 devolve o teclado à página.',
        'Ctrl+Alt+Del envia essa combinação à máquina; Digitar texto digita um texto por você, onde colar não funciona.',
        'A conexão usa um token de uso único, que vale uma vez, por poucos segundos, só para você. Ela se fecha quando o seu acesso é revogado, quando você sai ou quando fica ociosa por tempo demais.',
      ] },
      'Operadores e gerentes de uma máquina podem usar o console dela; administradores também.',
    ],
  },
};
