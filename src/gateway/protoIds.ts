/** OpenD protocol ids and the proto package (= .proto file name) each one uses. */
export const ProtoId = {
  InitConnect: 1001,
  GetGlobalState: 1002,
  Notify: 1003,
  KeepAlive: 1004,
  GetUserInfo: 1005,
  Trd_GetAccList: 2001,
  Trd_UnlockTrade: 2005,
  Trd_SubAccPush: 2008,
  Trd_GetFunds: 2101,
  Trd_GetMaxTrdQtys: 2111,
  Trd_GetPositionList: 2102,
  Trd_GetOrderList: 2201,
  Trd_PlaceOrder: 2202,
  Trd_ModifyOrder: 2205,
  Trd_UpdateOrder: 2208,
  Trd_GetOrderFillList: 2211,
  Trd_UpdateOrderFill: 2218,
  Trd_GetHistoryOrderList: 2221,
  Trd_GetHistoryOrderFillList: 2222,
  Trd_GetOrderFee: 2225,
  Qot_Sub: 3001,
  Qot_RegQotPush: 3002,
  Qot_GetSubInfo: 3003,
  Qot_GetBasicQot: 3004,
  Qot_UpdateBasicQot: 3005,
  Qot_GetKL: 3006,
  Qot_UpdateKL: 3007,
  Qot_GetRT: 3008,
  Qot_UpdateRT: 3009,
  Qot_GetTicker: 3010,
  Qot_UpdateTicker: 3011,
  Qot_GetOrderBook: 3012,
  Qot_UpdateOrderBook: 3013,
  Qot_GetBroker: 3014,
  Qot_UpdateBroker: 3015,
  Qot_UpdatePriceReminder: 3019,
  Qot_RequestHistoryKL: 3103,
  Qot_RequestHistoryKLQuota: 3104,
  Qot_GetStaticInfo: 3202,
  Qot_GetSecuritySnapshot: 3203,
  Qot_GetPlateSet: 3204,
  Qot_GetPlateSecurity: 3205,
  Qot_GetOwnerPlate: 3207,
  Qot_GetOptionChain: 3209,
  Qot_GetCapitalFlow: 3211,
  Qot_GetCapitalDistribution: 3212,
  Qot_GetUserSecurity: 3213,
  Qot_StockFilter: 3215,
  Qot_RequestTradeDate: 3219,
  Qot_GetUserSecurityGroup: 3222,
  Qot_GetMarketState: 3223,
  Qot_GetOptionExpirationDate: 3224,
  Qot_GetFinancialsStatements: 3227,
  Qot_GetResearchAnalystConsensus: 3229,
  Qot_GetValuationDetail: 3232,
  Qot_GetCorporateActionsDividends: 3234,
  Qot_GetCompanyProfile: 3243,
  Qot_GetSearchQuote: 3262,
  Qot_GetSearchNews: 3263,
} as const;

export type ProtoName = keyof typeof ProtoId;
export type ProtoIdValue = (typeof ProtoId)[ProtoName];

const nameById = new Map<number, ProtoName>(
  (Object.entries(ProtoId) as [ProtoName, number][]).map(([name, id]) => [id, name]),
);

export function protoNameOf(id: number): ProtoName | undefined {
  return nameById.get(id);
}

/** Frames with these ids are pushes: routed by protoID whatever their serial number. */
export const PUSH_PROTO_IDS: ReadonlySet<number> = new Set<number>([
  ProtoId.Notify,
  ProtoId.Trd_UpdateOrder,
  ProtoId.Trd_UpdateOrderFill,
  ProtoId.Qot_UpdateBasicQot,
  ProtoId.Qot_UpdateKL,
  ProtoId.Qot_UpdateRT,
  ProtoId.Qot_UpdateTicker,
  ProtoId.Qot_UpdateOrderBook,
  ProtoId.Qot_UpdateBroker,
  ProtoId.Qot_UpdatePriceReminder,
]);
