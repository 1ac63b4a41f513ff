/**
 * What OVN installs beyond the common flows: the registers above reg7, the wide registers, output
 * to a register, the stack, controller(...) with its options, the ARP and ND responders' rewrites, meters.
 */
export const OVN_FLOW_CORPUS: readonly string[] = [
  'reg8=0x1,reg15=0x5/0xff,reg12=0 actions=load:0x1->NXM_NX_REG14[],move:NXM_NX_REG15[0..15]->NXM_NX_REG9[16..31],resubmit(,8)',
  'xreg1=0x1234,xxreg2=0x5/0xff actions=move:NXM_NX_XXREG0[]->NXM_NX_XXREG1[],load:0x1->OXM_OF_PKT_REG3[0..3],set_field:0x10->xxreg3,set_field:0x10->xreg4',
  'actions=load:0x100000000000000000001->NXM_NX_XXREG0[],load:0x3->NXM_NX_XXREG1[60..67],load:0x1->NXM_NX_REG9[]',
  'actions=load:0x5->NXM_NX_XXREG1[64..95],set_field:0x1/0x3->xxreg0,move:OXM_OF_PKT_REG1[]->NXM_NX_XXREG0[0..63],move:NXM_NX_XXREG0[32..63]->NXM_NX_REG10[]',
  'actions=output:NXM_NX_REG13[0..15],output:NXM_NX_REG15[],output:OXM_OF_PKT_REG1[0..15],output:NXM_NX_XXREG2[96..111]',
  'actions=push:NXM_NX_XXREG1[],pop:NXM_NX_REG3[0..7],push:OXM_OF_PKT_REG2[8..23],pop:NXM_OF_ETH_SRC[]',
  'arp,arp_op=1 actions=move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xa0000fe->NXM_OF_ARP_SPA[],load:0x2->NXM_OF_ARP_OP[],set_field:10.0.0.1->arp_spa',
  'actions=controller(reason=no_match,max_len=100,id=3,userdata=00.01.02,pause),controller(userdata=00.00.00.1b.00.00.00.00),controller(pause),CONTROLLER:100',
  'actions=controller(max_len=10,id=2,userdata=00.01,pause,meter_id=5),controller(meter_id=1),controller(reason=invalid_ttl),controller(id=7,max_len=64)',
  // Meters: the meter instruction up to 1.4, the meter action from 1.5.
  'actions=meter:5,output:1',
  'ip actions=meter:1,clear_actions,write_actions(output:2),goto_table:3',
  'actions=meter:7',
  // OVN's ACL sampling.
  'ip actions=sample(probability=65535,collector_set_id=2,obs_domain_id=16777216,obs_point_id=100,ingress),resubmit(,10)',
  // The flow-only ND responder: the reserved word (R/S/O flags) and the first option's type.
  'icmp6,icmp_type=135,nd_reserved=0,nd_options_type=1 actions=set_field:136->icmpv6_type,set_field:0xe0000000->nd_reserved,set_field:2->nd_options_type,move:NXM_OF_ETH_SRC[0..7]->ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE[],load:0x40000000->ERICOXM_OF_ICMPV6_ND_RESERVED[],IN_PORT',
];

/**
 * Flows in ovs-ofctl syntax the codec tests encode and decode: ovs-ofctl's common ones, and the
 * kinds OVN installs (register loads and moves, resubmit across tables, metadata, set_field,
 * the ARP responder).
 */
export const FLOW_CORPUS: readonly string[] = [
  // Per-flow IPFIX sampling: NXAST_SAMPLE, NXAST_SAMPLE2 (a sampling port), NXAST_SAMPLE3 (a direction).
  'actions=sample(probability=65535,collector_set_id=1,obs_domain_id=2,obs_point_id=3)',
  'ip actions=sample(probability=1000,collector_set_id=5,obs_domain_id=0,obs_point_id=0,sampling_port=2),output:2',
  'actions=sample(probability=1,collector_set_id=4294967295,obs_domain_id=7,obs_point_id=8,sampling_port=LOCAL,egress),NORMAL',
  'actions=sample(probability=300,collector_set_id=2,obs_domain_id=1,obs_point_id=4294967295,ingress)',
  'priority=100,ip,in_port=1,nw_dst=10.0.0.0/24 actions=output:2',
  'actions=NORMAL',
  'tcp,tp_src=123 actions=FLOOD',
  'in_port=LOCAL,dl_vlan=9,dl_src=00:0a:e4:25:6b:b0 actions=drop',
  'udp,dl_vlan_pcp=7 actions=strip_vlan,output:0',
  'tcp,nw_src=192.168.0.3,tp_dst=80 actions=output:1',
  'cookie=0x123456789abcdef, hard_timeout=10, priority=60000 actions=CONTROLLER:65535',
  'idle_timeout=5, send_flow_rem check_overlap, arp,arp_spa=10.0.0.1,arp_op=1 actions=ALL',
  'table=3, ip,nw_src=10.0.0.0/255.0.255.0 actions=LOCAL',
  'vlan_tci=0x1000/0x1000 actions=IN_PORT',
  'vlan_tci=0x0000 actions=mod_vlan_vid:10,mod_vlan_pcp:3',
  'dl_vlan=10,dl_vlan_pcp=3 actions=pop_vlan',
  'dl_vlan=0xffff actions=mod_vlan_vid:5,mod_vlan_pcp:2,output:1',
  'tcp,tp_dst=0x50/0xfff0,tcp_flags=+syn-ack actions=drop',
  'icmp,icmp_type=8,icmp_code=0 actions=output:4',
  'icmp6,icmp_type=135,nd_sll=00:11:22:33:44:55 actions=drop',
  'icmp6,icmp_type=136,icmp_code=0,nd_tll=00:11:22:33:44:55 actions=drop',
  'icmp6,icmp_type=135,nd_target=fd00::1,nd_sll=00:11:22:33:44:55 actions=set_field:00:00:00:00:00:01->nd_sll,set_field:fd00::2->nd_target',
  'icmp6,icmp_type=135 actions=set_field:136->icmpv6_type,load:0x88->NXM_NX_ICMPV6_TYPE[]',
  'icmp,icmp_type=8 actions=set_field:0->icmp_type,move:NXM_OF_ICMP_CODE[]->NXM_NX_REG0[0..7]',
  'icmp6,icmp_type=136,nd_target=fd00::/16 actions=set_field:00:00:00:00:00:01->nd_tll,move:NXM_NX_ND_TARGET[]->NXM_NX_XXREG0[],move:NXM_OF_ETH_SRC[]->NXM_NX_ND_TLL[]',
  'icmp6,icmp_type=136,nd_reserved=0xe0000000,nd_options_type=2,nd_tll=00:00:00:00:00:02 actions=drop',
  'ipv6,ipv6_src=2001:db8::/32,ipv6_dst=fe80::1 actions=dec_ttl,output:3',
  'ip,nw_tos=16,nw_ecn=1,nw_ttl=9 actions=mod_nw_tos:32,mod_nw_src=1.2.3.4,mod_nw_dst:5.6.7.8',
  'tcp actions=mod_tp_src:80,mod_tp_dst:443,mod_dl_src:00:11:22:33:44:55,mod_dl_dst:66:77:88:99:aa:bb',
  'udp actions=mod_tp_src:53',
  'sctp,sctp_src=5,sctp_dst=6 actions=drop',
  'ip,nw_proto=89 actions=drop',
  'rarp actions=drop',
  'arp,arp_sha=00:11:22:33:44:55/ff:ff:ff:00:00:00,arp_tha=00:11:22:33:44:66,arp_tpa=10.0.0.0/8 actions=drop',
  'dl_src=00:11:22:00:00:00/ff:ff:ff:00:00:00 actions=drop',
  // OVN-style pipelines.
  'table=0,priority=100,in_port=1 actions=load:0x1->NXM_NX_REG3[],load:0x2->NXM_NX_REG1[],resubmit(,8)',
  'table=8,priority=50,reg4=0x1,metadata=0x1,dl_dst=00:00:00:00:00:01 actions=load:0x2->NXM_NX_REG5[],resubmit(,9)',
  'table=9,metadata=0x1,reg5=0x2 actions=output:2',
  'priority=90,arp,arp_op=1 actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:00:00:00:00:00:01,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],load:0x1->NXM_NX_ARP_SHA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xa000001->NXM_OF_ARP_SPA[],move:NXM_OF_IN_PORT[]->NXM_NX_REG4[0..15],output:IN_PORT',
  'actions=set_field:0x1/0x1->reg3,set_field:00:11:22:33:44:55->eth_src,set_field:5->reg0',
  'ip actions=set_field:10.0.0.1->ip_dst,set_field:8->ip_dscp',
  'actions=set_tunnel:0x5,set_tunnel64:0x5,set_tunnel:0x123456789',
  'actions=group:5',
  'actions=resubmit:3,resubmit(2,3),resubmit(,4)',
  'actions=controller(max_len=128)',
  'actions=clear_actions,write_actions(output:3)',
  'actions=load:0xffff->NXM_NX_REG0[16..31],move:NXM_NX_REG0[0..15]->NXM_NX_TUN_ID[0..15]',
  'reg0=0x5/0xff,reg7=0,tun_id=0x5,metadata=0x1/0xff actions=write_metadata:0x1/0xff,goto_table:1',
  'ip,reg2=0x10 actions=load:0xc0a80001->NXM_OF_IP_DST[],dec_ttl,resubmit(,10)',
  // Tunnels: the outer header of a received frame, and where an output to a flow-based tunnel goes.
  'tun_id=0x5,tun_src=192.168.1.1,tun_dst=192.168.0.0/16,tun_flags=+oam actions=set_tunnel:0x7,set_field:192.168.1.2->tun_dst,output:1',
  'tun_dst=10.0.0.1,tun_flags=-oam actions=set_tunnel64:0x100000000,move:NXM_NX_TUN_IPV4_SRC[]->NXM_NX_REG0[],load:0xa000002->NXM_NX_TUN_IPV4_DST[]',
  'tun_src=10.1.0.0/255.255.0.0 actions=set_field:10.0.0.9->tun_src,set_field:oam->tun_flags,load:0->NXM_NX_TUN_FLAGS[],NORMAL',
  ...OVN_FLOW_CORPUS,
];
