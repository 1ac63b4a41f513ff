/**
 * OpenFlow errors raised by the slow-path model (flow tables, groups, meters, match checks).
 *
 * The `code` is the name OVS prints (`OFPBMC_BAD_PREREQ`, `OFPFMFC_OVERLAP`, ...), so a user
 * who pastes the error into a search engine lands on the same explanations OVS users find.
 * The wire codec maps a code to its (type, code) pair for the OpenFlow version in use.
 */
export type OfpErrorCode =
  /** A prerequisite of a match field was not met (e.g. nw_src without dl_type=0x0800). */
  | 'OFPBMC_BAD_PREREQ'
  /** A match value has bits set outside its mask or outside the field. */
  | 'OFPBMC_BAD_VALUE'
  /** Attempted to add an overlapping flow with the CHECK_OVERLAP flag set. */
  | 'OFPFMFC_OVERLAP'
  /** The flow_mod names a table that does not exist (or 255 where one table is required). */
  | 'OFPFMFC_BAD_TABLE_ID'
  /** Unsupported or unknown flow_mod command. */
  | 'OFPFMFC_BAD_COMMAND'
  /** The goto_table instruction names a table that is not after the current one. */
  | 'OFPBIC_BAD_TABLE_ID'
  /** An output action names an invalid port. */
  | 'OFPBAC_BAD_OUT_PORT'
  /** A group action names a group that does not exist. */
  | 'OFPBAC_BAD_OUT_GROUP'
  /** Group ADD for a group id that already exists. */
  | 'OFPGMFC_GROUP_EXISTS'
  /** Group MODIFY for a group id that does not exist. */
  | 'OFPGMFC_UNKNOWN_GROUP'
  /** The group type is not all/select/indirect/ff. */
  | 'OFPGMFC_BAD_TYPE'
  /** A bucket is invalid for the group type (e.g. indirect with two buckets). */
  | 'OFPGMFC_BAD_BUCKET'
  /** A fast-failover bucket has no watch_port or watch_group. */
  | 'OFPGMFC_BAD_WATCH'
  /** The group would forward to itself, directly or through other groups. */
  | 'OFPGMFC_LOOP'
  /** The group id is reserved (above OFPG_MAX). */
  | 'OFPGMFC_INVALID_GROUP'
  /** Meter ADD for a meter id that already exists. */
  | 'OFPMMFC_METER_EXISTS'
  /** The meter id is 0 or reserved, or a rule names a meter that does not exist. */
  | 'OFPMMFC_INVALID_METER'
  /** Meter MODIFY for a meter id that does not exist. */
  | 'OFPMMFC_UNKNOWN_METER'
  /** The meter flags are inconsistent (kbps with pktps). */
  | 'OFPMMFC_BAD_FLAGS'
  /** A band's rate is 0 or out of range. */
  | 'OFPMMFC_BAD_RATE'
  /** A band's burst size is out of range. */
  | 'OFPMMFC_BAD_BURST'
  /** A band type is unknown, or the meter has no band. */
  | 'OFPMMFC_BAD_BAND'
  /** A band's value (a DSCP remark's prec_level) is out of range. */
  | 'OFPMMFC_BAD_BAND_VALUE'
  /** The datapath has no room for another meter. */
  | 'OFPMMFC_OUT_OF_METERS'
  /** The meter has more bands than the datapath supports. */
  | 'OFPMMFC_OUT_OF_BANDS'
  /** A set_field (or load, move) names a field it cannot write, such as an unmapped tun_metadata. */
  | 'OFPBAC_BAD_SET_ARGUMENT'
  /** A match names a field the switch does not know, or a tun_metadata field that is not mapped. */
  | 'OFPBMC_BAD_FIELD'
  /** A TLV mapping's option length is not a multiple of 4 up to 124 (or more than TVS's datapath carries). */
  | 'NXTTMFC_BAD_OPT_LEN'
  /** A TLV mapping's index is not 0-63. */
  | 'NXTTMFC_BAD_FIELD_IDX'
  /** The mapped options would take more than 256 bytes. */
  | 'NXTTMFC_TABLE_FULL'
  /** NXTTMC_ADD for a tun_metadata index that is already mapped. */
  | 'NXTTMFC_ALREADY_MAPPED'
  /** NXTTMC_ADD for an option already mapped to another index. */
  | 'NXTTMFC_DUP_ENTRY'
  /** Deleting a mapping that a flow uses. */
  | 'NXTTMFC_INVALID_TLV_DEL';

/** An OpenFlow error with the OVS name of its code and a sentence a person can act on. */
export class OfpError extends Error {
  constructor(
    readonly code: OfpErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'OfpError';
  }
}
