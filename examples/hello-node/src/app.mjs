// An HTTP API (payload format 2.0) handler: greets the name in the path.
export const handler = async (event, context) => {
  const name = event.pathParameters?.name ?? "world";
  console.log(`greeting ${name} in ${context.functionName}`);
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      message: `${process.env.GREETING}, ${name}!`,
      requestId: context.awsRequestId,
    }),
  };
};
