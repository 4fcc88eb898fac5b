"""The edge inference app: the intent model behind one handler and three transports (stdin, HTTP, Greengrass IPC).

Device dependencies: onnxruntime + tokenizers + numpy + the standard library (``awsiotsdk`` only in the IPC
transport, imported there). Nothing here imports torch, pandas, typer or aws_cdk.
"""
