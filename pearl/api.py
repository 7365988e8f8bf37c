from ninja import NinjaAPI

api = NinjaAPI(title="Pearl API", version="1", urls_namespace="api")
